"""Import every built-in component so that the registries are complete.

Importing ``gancraft`` alone stays cheap; the CLI and ``Translator.load`` import this.
"""

from gancraft import data, losses, models, networks  # noqa: F401
from gancraft import world  # noqa: F401
from gancraft import evaluation  # noqa: F401
