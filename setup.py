"""Packaging that pyproject.toml cannot say: the top-level ``recipes/`` and ``evaluation/``
folders ship inside the wheel as ``gancraft/_shipped/recipes`` and ``gancraft/_shipped/evaluation``
(found at run time by :func:`gancraft.core.shipped.shipped_dir`). Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

SHIPPED = {
    "gancraft._shipped.recipes": "recipes",
    "gancraft._shipped.recipes.data": "recipes/data",
    "gancraft._shipped.evaluation": "evaluation",
}

setup(
    packages=find_packages(include=["gancraft", "gancraft.*"]) + list(SHIPPED),
    package_dir=SHIPPED,
    package_data={
        "gancraft.world": ["weights/*"],
        "gancraft.evaluation.hype": ["static/*"],
        **{name: ["*.yaml"] for name in SHIPPED},
    },
)
