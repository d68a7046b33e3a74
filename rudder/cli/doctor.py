"""`rudder doctor`: one screen on what Rudder sees here — the model, the CPU, the sandbox, the config, the library.

Nothing is generated: the model is loaded (which discovers its graph sites) and described. Each section is
gathered on its own, so a model that does not load is one line and the other sections still report.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from rudder.cli.display import plain
from rudder.cli.options import CtxOpt, ModelOpt, RepoOpt, ThreadsOpt, VerboseOpt

if TYPE_CHECKING:
    from rudder.config import RudderConfig
    from rudder.engine.engine import Engine

Rows = list[tuple[str, str]]


def doctor(
    model: ModelOpt = None,
    repo: RepoOpt = Path("."),
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Check the setup: the model (architecture, profile, template), the CPU, the sandbox, config and vectors."""
    from rudder.config import ConfigError, load_config
    from rudder.engine.factory import load_engine
    from rudder.engine.info import EngineError
    from rudder.engine.model_file import ModelLoadError

    overrides = {"model": {"model_path": str(model) if model else None, "n_ctx": n_ctx, "n_threads": threads}}
    if verbose:
        overrides["model"]["verbose"] = True
    problems: list[str] = []
    try:
        config = load_config(repo, overrides)
    except ConfigError as exc:
        config = None
        problems.append(str(exc))
    engine: Engine | None = None
    rows: Rows = []
    if config is not None:
        try:
            engine = load_engine(config.model)
        except (ModelLoadError, EngineError) as exc:
            problems.append(str(exc))
    try:
        if engine is not None:
            rows += model_rows(engine)
        else:
            rows.append(("model", "not loaded (see the error below)"))
        rows += machine_rows(engine, config)
        rows += sandbox_rows(config)
        rows += config_rows(repo, config, overrides)
        rows += library_rows(engine, repo)
    finally:
        if engine is not None:
            engine.close()
    console = Console(highlight=False)  # made here: it reads the terminal's width (COLUMNS) when the command runs
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in rows:
        table.add_row(plain(key), plain(value))
    console.print(table)
    if problems:
        from rudder.cli import say

        for problem in problems:
            say.error(problem)
        raise typer.Exit(1)


def model_rows(engine: Engine) -> Rows:
    from rudder.engine.sites import steerable_sites

    info, profile, header = engine.info, engine.profile, engine.header
    size = info.path.stat().st_size
    known = info.architecture in profile.architectures
    arch = f"{info.architecture} → profile {profile.name}" + (
        "" if known else " (no profile for it: llama-style assumed)"
    )
    sites = engine.sites
    native, default = profile.sites.native_site, profile.sites.default_site
    residual = steerable_sites(sites, info.n_embd)
    native_note = (
        f"{native}-0..{info.n_layer - 1}, llama.cpp's control vector adds there"
        if native in sites
        else f"{native} is not in this graph: steering through the hook only, at {default}"
    )
    return [
        ("model", f"{info.name}  {info.path} ({size / 1e6:.1f} MB)"),
        ("architecture", f"{arch}; {profile.notes}" if profile.notes else arch),
        ("parameters", f"{_count(info.n_params)}; {info.n_layer} layers, n_embd {info.n_embd}, vocab {info.n_vocab}"),
        ("quantisation", _quantisation(header)),
        (
            "identity",
            f"{info.identity.architecture}/{info.n_embd}x{info.n_layer}, layout {info.identity.layout_hash[:12]}",
        ),
        ("chat template", _template(engine)),
        ("tool calls", f"{profile.tool_protocol}; stop text {', '.join(map(repr, engine.stop_text)) or 'none'}"),
        ("steering sites", f"residual {native_note}; vectors default to {default}"),
        ("sites per layer", f"{len(residual)} residual-sized: {', '.join(residual)}"),
    ]


def _count(n: int) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.1f}{unit} parameters"
    return f"{n} parameters" if n else "parameters unknown"


def _quantisation(header: Any) -> str:
    from gguf.constants import GGMLQuantizationType, LlamaFileType

    from rudder.engine.dense import matrix_type

    file_type = header.metadata.get("general.file_type")
    try:
        named = LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else "not stated"
    except ValueError:
        named = f"type {file_type}"
    kind = matrix_type(header)
    try:
        matrices = GGMLQuantizationType(kind).name if kind is not None else "none"
    except ValueError:
        matrices = f"ggml type {kind}"
    return f"{named} (file type); layer matrices {matrices}"


def _template(engine: Engine) -> str:
    info, fmt = engine.info, engine.chat_format
    if info.chat_template_source == "gguf":
        return f"the GGUF's own ({fmt.name if fmt else 'a format Rudder does not name'})"
    if info.chat_template_source == "profile":
        return f"none in the GGUF: {fmt.name if fmt else '?'} (its turn markers are special tokens of the vocabulary)"
    return "none: a base model; prompts use the plain-completion form (Question: … Answer:), no chat markers"


def machine_rows(engine: Engine | None, config: RudderConfig | None) -> Rows:
    from rudder.engine.config import default_threads
    from rudder.engine.engine import system_info

    features = _cpu_features(system_info())
    rows: Rows = []
    if engine is not None:
        info = engine.info
        beyond = "; past its training length answers degrade" if info.n_ctx > info.n_ctx_train > 0 else ""
        rows.append(("context", f"{info.n_ctx} tokens (trained on {info.n_ctx_train}{beyond})"))
    if config is not None and config.model.n_threads:
        threads, source = config.model.n_threads, "--threads or a config file"
    else:
        try:
            threads = default_threads()
        except ValueError as exc:
            return [*rows, ("threads", str(exc))]
        env = os.environ.get("RUDDER_THREADS", "").strip()
        source = "$RUDDER_THREADS" if env else f"all {len(os.sched_getaffinity(0))} usable cores but one"
    rows.append(("threads", f"{threads} ({source})"))
    rows.append(
        ("CPU kernels", f"llama.cpp uses {', '.join(features) or 'no SIMD features'} (built for this CPU kind)")
    )
    rows.append(("CPU weight layouts", _extra_buffers_row(engine, config)))
    if engine is not None:
        kind, why = engine.capture_weights()
        read = {"native": "the model as it is", "f16": "an f16 copy", "bf16": "a bf16 copy"}.get(kind, kind)
        rows.append(("capture weights", f"{read}: {why}"))
    return rows


def _extra_buffers_row(engine: Engine | None, config: RudderConfig | None) -> str:
    from rudder.engine import amx
    from rudder.engine.engine import EngineConfig
    from rudder.engine.loading import extra_buffers

    engine_config = engine.config if engine is not None else config.model if config is not None else EngineConfig()
    setting = engine_config.cpu_extra_buffers
    why = f"cpu_extra_buffers = {setting}" if setting != "auto" else f"auto: {amx.decide()[1]}"
    state = "on" if extra_buffers(engine_config) else "off"
    return f"llama.cpp's repacked/AMX weight layouts {state} ({why})"


def _cpu_features(info: str) -> list[str]:
    """The features llama.cpp reports as on (`AVX2 = 1`), from its system-info line."""
    found = []
    for part in info.replace("CPU :", "|").split("|"):
        name, _, value = part.partition("=")
        if value.strip() == "1" and name.strip():
            found.append(name.strip())
    return found


def sandbox_rows(config: RudderConfig | None) -> Rows:
    from rudder.tools.sandbox import probe_bwrap

    setting = config.agent.sandbox if config is not None else "auto"
    network = config is not None and config.agent.network
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        state = "bubblewrap (bwrap) is not installed: shell commands run unsandboxed"
    else:
        failure = probe_bwrap(bwrap)
        state = f"{bwrap} works (tried)" if not failure else f"{bwrap} cannot create a sandbox here: {failure}"
    if setting == "required" and (bwrap is None or probe_bwrap(bwrap)):
        state += "; agent.sandbox = required, so shell commands are refused"
    return [("sandbox", f"agent.sandbox = {setting}, network {'on' if network else 'off'}; {state}")]


def config_rows(repo: Path, config: RudderConfig | None, overrides: dict[str, Any]) -> Rows:
    from rudder.config import ConfigError, load_config
    from rudder.util.dirs import REPO_CONFIG, user_config_dir

    user_file, repo_file = user_config_dir() / "config.toml", repo / REPO_CONFIG
    read = [str(p) for p in (user_file, repo_file) if p.is_file()]
    rows: Rows = [("config files", ", ".join(read) if read else f"none (looked for {user_file} and {repo_file})")]
    if config is None or not repo_file.is_file():
        return rows
    try:
        without_repo = load_config(None, overrides)
    except ConfigError:
        return rows
    changed = [
        f"{section}.{key} {getattr(getattr(without_repo, section), key)!r} → {value!r}"
        for section in ("agent", "model")
        for key, value in getattr(config, section).model_dump().items()
        if getattr(getattr(without_repo, section), key) != value
    ]
    rows.append(("repo config set", "; ".join(changed) or "nothing"))
    rows += [("repo config refused", note) for note in config.notes]
    return rows


def library_rows(engine: Engine | None, repo: Path) -> Rows:
    from rudder.vectors.files.card import load_card
    from rudder.vectors.files.library import library_dirs, list_library
    from rudder.vectors.meta import VectorError

    if engine is None:
        return [("vectors", "no model loaded")]
    mine = list_library(repo, engine.info.identity)
    others = {entry.name for entry in list_library(repo)} - {entry.name for entry in mine}
    parts = []
    for entry in mine:
        try:
            card = load_card(entry.path)
        except VectorError:
            parts.append(f"{entry.name} (card unreadable)")
            continue
        verdict = f"health {card.health.verdict}" if card.health else "not checked"
        scale = card.calibration
        if scale is None:
            calibrated = "not calibrated"
        elif scale.scale == 0:
            calibrated = f"calibrated: no scale before damage @ {scale.layers}"
        else:
            calibrated = f"calibrated ×{scale.scale:g} @ {scale.layers}"
        parts.append(f"{entry.name} ({verdict}, {calibrated})")
    rows: Rows = [("vectors", "; ".join(parts) if parts else "none for this model")]
    if others:
        rows.append(("other models'", f"{', '.join(sorted(others))} (not used with this model)"))
    if not mine:
        rows.append(("", f"build them with `rudder vectors build` (library: {library_dirs(repo)[0]})"))
    return rows + mode_rows(engine, repo)


def mode_rows(engine: Engine, repo: Path) -> Rows:
    """Per mode, which of its vectors this model has (what `rudder modes list` shows)."""
    from rudder.modes.permodel import vector_status
    from rudder.modes.registry import scan_modes
    from rudder.vectors.files.library import VectorResolver

    locate = VectorResolver(engine.info.identity, repo.resolve()).locate
    parts = []
    for name, mode in scan_modes(repo.resolve()).modes.items():
        status = vector_status(mode, locate) if "/" not in name else []
        if status:
            parts.append(f"{name}: {', '.join(status)}")
    return [("modes", "; ".join(parts))] if parts else []
