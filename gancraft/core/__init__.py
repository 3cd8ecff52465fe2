"""The core layer: registries, errors, checkpoints, precision, distributed helpers, the
training callback hook, the metrics log and the shipped folders (recipes/, evaluation/).

Everything else in gancraft imports from here; this package imports nothing of gancraft's
but itself.
"""
