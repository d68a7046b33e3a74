"""Builds Rudder's small C graph hook (rudder/engine/_hook.c); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "rudder.engine._hook",
            sources=["rudder/engine/_hook.c"],
            extra_compile_args=["-O3", "-std=c11"],
        )
    ]
)
