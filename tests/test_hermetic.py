"""The test session never sees the developer's own ~/.config/rudder (conftest points RUDDER_CONFIG_DIR
at a temp dir), neither in-process nor in the `rudder` subprocesses tests start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import platformdirs

from rudder.util.dirs import user_config_dir


def test_the_user_config_dir_is_a_temp_dir_not_the_real_one(tmp_path_factory) -> None:
    real = Path(platformdirs.user_config_dir("rudder"))
    assert user_config_dir() != real
    assert tmp_path_factory.getbasetemp() in user_config_dir().parents


def test_subprocesses_inherit_the_temp_config_dir() -> None:
    code = "from rudder.util.dirs import user_config_dir; print(user_config_dir())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert Path(out.stdout.strip()) == user_config_dir()
