"""Where Rudder keeps its files: the user's own, and the names it claims inside a repository."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

REPO_CONFIG = ".rudder.toml"  # the repository's config file (it may only tighten the user's settings)
REPO_DIR = ".rudder"  # the repository's modes/ and vectors/


def user_config_dir() -> Path:
    return Path(os.environ.get("RUDDER_CONFIG_DIR") or platformdirs.user_config_dir("rudder"))


def user_cache_dir() -> Path:
    """Files Rudder can rebuild (dense weight copies): deleting them only costs the time to remake them."""
    return Path(os.environ.get("RUDDER_CACHE_DIR") or platformdirs.user_cache_dir("rudder"))
