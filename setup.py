"""Builds Rudder's small C graph hook (rudder/vectors/_hook.c); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "rudder.vectors._hook",
            sources=["rudder/vectors/_hook.c"],
            extra_compile_args=["-O3", "-std=c11"],
        )
    ]
)
