"""Rudder: a local coding agent steered from the inside."""

__version__ = "0.1.0"
