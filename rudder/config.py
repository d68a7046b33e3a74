"""Configuration: defaults < user config < the repo's .rudder.toml < command-line flags.

    user config:  $RUDDER_CONFIG_DIR/config.toml, else the platform's config dir (~/.config/rudder)
    repo config:  <repo>/.rudder.toml

A relative `model_path` is relative to the file it is written in; a `--model` flag, to the current directory.

Every file is validated on its own first, so an error names the file and the key:
    .rudder.toml: model.n_ctx: Input should be a valid integer (got 'big')
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rudder.agent.config import AgentConfig
from rudder.engine.config import EngineConfig
from rudder.engine.generation import Sampling
from rudder.util.dirs import user_config_dir
from rudder.util.validation import describe_validation_error

REPO_CONFIG = ".rudder.toml"


class ConfigError(ValueError):
    """A config file or flag is invalid; the message names the file and key."""


class RudderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: EngineConfig = Field(default_factory=EngineConfig)
    sampling: Sampling = Field(default_factory=Sampling)
    agent: AgentConfig = Field(default_factory=AgentConfig)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validated(source: str, data: dict[str, Any]) -> RudderConfig:
    try:
        return RudderConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc)) from None


def load_config(repo: Path | None, overrides: dict[str, Any] | None = None) -> RudderConfig:
    """Merge the config layers; `overrides` are the flags, nested like the files ({"model": {...}})."""
    merged: dict[str, Any] = {}
    files = [user_config_dir() / "config.toml"]
    if repo is not None:
        files.append(repo / REPO_CONFIG)
    for path in files:
        if path.is_file():
            data = read_toml(path)
            _validated(str(path), data)
            merged = _deep_merge(merged, _model_path_from(data, path.parent))
    if overrides:
        merged = _deep_merge(merged, _model_path_from(_drop_none(overrides), Path.cwd()))
    return _validated("command line", merged)


def _model_path_from(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """A relative model_path means relative to where it was written: the config file's directory, or the
    current directory for a flag."""
    model = data.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("model_path"), str):
        return data
    path = Path(model["model_path"]).expanduser()
    return {**data, "model": {**model, "model_path": str((base / path).resolve())}}


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _drop_none(value) if isinstance(value, dict) else value for key, value in data.items() if value is not None
    }
