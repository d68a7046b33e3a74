"""Where Rudder keeps the user's own files."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def user_config_dir() -> Path:
    return Path(os.environ.get("RUDDER_CONFIG_DIR") or platformdirs.user_config_dir("rudder"))
