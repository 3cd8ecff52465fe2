"""The core layer: registries, errors, checkpoints, precision and distributed helpers.

Everything else in gancraft imports from here; this package imports nothing of gancraft's
but itself.
"""
