"""User-facing errors.

Every mistake a user can make (a missing file, an unknown name, a bad override, a
missing weights file) raises a :class:`GancraftError` subclass whose message names
the thing and the fix. The CLI prints that one line and exits non-zero; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class GancraftError(Exception):
    """Base class of all errors a user can fix."""


class ConfigError(GancraftError):
    """A recipe, an override or a config value is wrong."""


class UnknownNameError(ConfigError):
    """A registry was asked for a name it does not hold."""


class DataError(GancraftError):
    """An image or data set cannot be read."""


class CheckpointError(GancraftError):
    """A checkpoint is missing, incomplete or does not match the model."""


class MissingWeightsError(GancraftError):
    """A pretrained weights file (Inception, AlexNet, ...) is not where it is looked for."""


class MissingDependencyError(GancraftError):
    """An optional dependency (an extra such as ``gancraft[hype]``) is not installed."""


def require_extra(extra: str, *modules: str) -> None:
    """Import ``modules`` or raise one line naming the extra to install: ``pip install 'gancraft[EXTRA]'``."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            raise MissingDependencyError(
                f"{module} is not installed (it comes with the {extra} extra); run: pip install 'gancraft[{extra}]'"
            ) from None
