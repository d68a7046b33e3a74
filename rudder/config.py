"""Configuration: defaults < user config < the repo's .rudder.toml < command-line flags.

    user config:  $RUDDER_CONFIG_DIR/config.toml, else the platform's config dir (~/.config/rudder)
    repo config:  <repo>/.rudder.toml

A relative `model_path` is relative to the file it is written in; a `--model` flag, to the current directory.

Every file is validated on its own first, so an error names the file and the key:
    .rudder.toml: model.n_ctx: Input should be a valid integer (got 'big')

A repository is not trusted to raise its own permissions (the agent, or whoever wrote the repo, could
have written its .rudder.toml). Its file may only tighten what the user set: a stricter approval
(auto < not set < ask < read-only), a stricter sandbox (off < auto < required), network off; its
model_path and trajectory_dir must stay inside the repo; it may not add MCP servers ([mcp]: programs
Rudder would start, outside the sandbox). Whatever it may not change is ignored with a note in
`RudderConfig.notes`, which the CLI prints as a warning. Flags are the user's own choice and win over
both files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from rudder.agent.config import AgentConfig
from rudder.engine.config import EngineConfig
from rudder.engine.generation import Sampling
from rudder.tools.mcp.config import McpConfig
from rudder.util.dirs import REPO_CONFIG, user_config_dir
from rudder.util.validation import describe_validation_error


class ConfigError(ValueError):
    """A config file or flag is invalid; the message names the file and key."""


class RudderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: EngineConfig = Field(default_factory=EngineConfig)
    sampling: Sampling = Field(default_factory=Sampling)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    mcp: McpConfig = Field(default_factory=McpConfig)  # the user's MCP servers (docs/mcp.md)
    _notes: list[str] = PrivateAttr(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """What the repo's .rudder.toml tried to change but may not (one sentence each)."""
        return self._notes


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; expected TOML") from None
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
    notes: list[str] = []
    user_file = user_config_dir() / "config.toml"
    if user_file.is_file():
        data = read_toml(user_file)
        _validated(str(user_file), data)
        merged = _model_path_from(data, user_file.parent)
    if repo is not None and (repo_file := repo / REPO_CONFIG).is_file():
        data = read_toml(repo_file)
        _validated(str(repo_file), data)
        data, notes = _tighten_only(repo, str(repo_file), data, _validated(str(user_file), merged))
        merged = _deep_merge(merged, data)
    if overrides:
        merged = _deep_merge(merged, _model_path_from(_drop_none(overrides), Path.cwd()))
    config = _validated("command line", merged)
    config._notes = notes
    return config


def _model_path_from(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """A relative model_path means relative to where it was written: the config file's directory, or the
    current directory for a flag."""
    model = data.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("model_path"), str):
        return data
    path = Path(model["model_path"]).expanduser()
    return {**data, "model": {**model, "model_path": str((base / path).resolve())}}


_APPROVAL_RANK = {"auto": 0, None: 1, "ask": 2, "read-only": 3}  # None: the user did not choose
_SANDBOX_RANK = {"off": 0, "auto": 1, "required": 2}


def _tighten_only(
    repo: Path, source: str, data: dict[str, Any], user: RudderConfig
) -> tuple[dict[str, Any], list[str]]:
    """The repo file's settings without what would loosen the user's (`user`: defaults + user file)."""
    sections = {name: dict(data.get(name, {})) for name in ("agent", "model")}
    agent, model = sections["agent"], sections["model"]
    notes: list[str] = []

    def drop(section: str, key: str, why: str) -> None:
        notes.append(f"{source}: {section}.{key} = {sections[section].pop(key)!r} ignored: {why}")

    if "approval" in agent and _APPROVAL_RANK[agent["approval"]] < _APPROVAL_RANK[user.agent.approval]:
        yours = user.agent.approval or "not set"
        drop("agent", "approval", f"a repository can only tighten approval (yours: {yours})")
    if "sandbox" in agent and _SANDBOX_RANK[agent["sandbox"]] < _SANDBOX_RANK[user.agent.sandbox]:
        drop("agent", "sandbox", f"a repository can only tighten the sandbox (yours: {user.agent.sandbox})")
    if agent.get("network") and not user.agent.network:
        drop("agent", "network", "a repository cannot turn the network on (set it in your own config)")
    if "trajectory_dir" in agent and not _inside(repo, repo / agent["trajectory_dir"]):
        drop("agent", "trajectory_dir", "it must stay inside the repository")
    if "mcp" in data:
        notes.append(
            f"{source}: [mcp] ignored: a repository cannot add MCP servers (programs Rudder would start outside "
            "the sandbox); put them in your own config"
        )
    if "model_path" in model:
        path = repo / Path(model["model_path"]).expanduser()
        if _inside(repo, path):
            model["model_path"] = str(path.resolve())
        else:
            drop("model", "model_path", "a repository can only name a model file inside itself")
    out = {key: value for key, value in data.items() if key != "mcp"}
    for name, section in sections.items():
        if section:
            out[name] = section
        else:
            out.pop(name, None)
    return out, notes


def _inside(repo: Path, path: Path) -> bool:
    """True if `path` (symlinks resolved) is `repo` or lies under it."""
    root, resolved = repo.resolve(), path.resolve()
    return resolved == root or root in resolved.parents


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _drop_none(value) if isinstance(value, dict) else value for key, value in data.items() if value is not None
    }
