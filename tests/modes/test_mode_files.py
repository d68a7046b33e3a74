"""Mode files: validation with clear errors, per-step resolution, sources and twins (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.engine.generation import Sampling
from rudder.interfaces import StepKind
from rudder.modes.mode import parse_layers
from rudder.modes.registry import ModeError, get_mode, load_mode_file, load_modes, make_twin, parse_mode, scan_modes

GOOD = """
name = "demo"
description = "a demo"
hotkey = "d"
addendum = "Be brief."
steer_tool_calls = false

[sampling]
temperature = 0.3

[[vectors]]
vector = "terse"
scale = 0.05
layers = "10-12"

[steps.review]
scale_factor = 2.0
read_only = true

[steps.edit]
vectors = []
sampling = { temperature = 0.0 }
"""


@pytest.fixture(autouse=True)
def isolated_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "user-config"
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(config))
    return config


def test_a_good_mode_file_resolves_per_step_kind() -> None:
    mode = parse_mode(GOOD, Path("demo.toml"))
    plan_specs = mode.vectors_for(StepKind.PLAN)
    assert [(s.vector, s.scale, s.layers) for s in plan_specs] == [("terse", 0.05, (10, 11, 12))]
    assert mode.vectors_for(StepKind.REVIEW)[0].scale == pytest.approx(0.1)
    assert mode.vectors_for(StepKind.EDIT) == []
    assert mode.read_only_for(StepKind.REVIEW) and not mode.read_only_for(StepKind.EDIT)
    assert not mode.steers_tool_calls(StepKind.PLAN)
    assert mode.sampling_for(StepKind.PLAN, Sampling()).temperature == 0.3
    assert mode.sampling_for(StepKind.EDIT, Sampling()).temperature == 0.0


def test_a_mode_sets_min_p_and_top_k_and_leaves_the_rest() -> None:
    mode = parse_mode('name = "tight"\n[sampling]\nmin_p = 0.15\ntop_k = 20\n', Path("tight.toml"))
    base = Sampling(temperature=0.7, seed=3)
    assert mode.sampling_for(StepKind.EDIT, base) == base.model_copy(update={"min_p": 0.15, "top_k": 20})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("scale = 0.05", 'scale = "big"'),
            r"demo.toml:13: vectors\[0\].scale: Input should be a valid number",
        ),
        (GOOD.replace('layers = "10-12"', 'layers = "twelve"'), r"demo.toml:14: vectors\[0\].layers: .*'10-15'"),
        (GOOD.replace("[steps.review]", "[steps.reviw]"), r"demo.toml:16: steps.reviw\[key\]: .*plan.*explore"),
        (GOOD.replace("read_only = true", "readonly = true"), r"demo.toml:18: steps.review.readonly: unknown key"),
        (GOOD.replace('name = "demo"', 'name = "Demo Mode"'), r"demo.toml:2: name: String should match pattern"),
        (GOOD.replace('hotkey = "d"', 'hotkey = "ctrl+d"'), r"demo.toml:4: hotkey"),
        ('name = "x"\n[[vectors]]\nscale = 1', r"demo.toml:\d+: vectors\[0\].vector: Field required"),
        ("name = ", r"demo.toml: not valid TOML"),
    ],
)
def test_bad_mode_files_get_one_clear_error(text: str, expected: str) -> None:
    with pytest.raises(ModeError, match=expected):
        parse_mode(text, Path("demo.toml"))


def test_layer_specs() -> None:
    assert parse_layers("10-12") == (10, 11, 12)
    assert parse_layers("3,5,7-8") == (3, 5, 7, 8)
    assert parse_layers([4, 2]) == (4, 2)
    assert parse_layers(None) is None
    with pytest.raises(ValueError, match="backwards"):
        parse_layers("9-3")


def test_builtin_modes_exist_with_hotkeys_and_twins() -> None:
    modes = load_modes(None)
    for name in ("neutral", "fast-draft", "careful-review", "explain"):
        assert modes[name].hotkey
        assert f"{name}/prompt-only" in modes and f"{name}/vector-only" in modes
    hotkeys = [m.hotkey for m in modes.values() if m.hotkey]
    assert len(hotkeys) == len(set(hotkeys))


def test_twins_separate_prompting_from_steering() -> None:
    mode = parse_mode(GOOD, Path("demo.toml"))
    prompt_only = make_twin(mode, "prompt-only")
    vector_only = make_twin(mode, "vector-only")
    for kind in StepKind:
        assert prompt_only.vectors_for(kind) == []
        assert prompt_only.addendum_for(kind) == mode.addendum_for(kind)
        assert vector_only.vectors_for(kind) == mode.vectors_for(kind)
        assert vector_only.addendum_for(kind) == ""
        for twin in (prompt_only, vector_only):
            assert twin.sampling_for(kind, Sampling()) == mode.sampling_for(kind, Sampling())
            assert twin.read_only_for(kind) == mode.read_only_for(kind)


def test_user_and_repo_modes_override_builtins_by_name(tmp_path: Path, isolated_user_config: Path) -> None:
    user_modes = isolated_user_config / "modes"
    user_modes.mkdir(parents=True)
    (user_modes / "n.toml").write_text('name = "neutral"\ndescription = "user neutral"\n')
    (user_modes / "mine.toml").write_text('name = "mine"\n')
    assert get_mode("neutral").description == "user neutral"
    repo = tmp_path / "repo"
    (repo / ".rudder" / "modes").mkdir(parents=True)
    (repo / ".rudder" / "modes" / "n.toml").write_text('name = "neutral"\ndescription = "repo neutral"\n')
    assert get_mode("neutral", repo).description == "repo neutral"
    assert get_mode("mine", repo).source == user_modes / "mine.toml"


def test_unknown_mode_and_bad_user_file_are_clear(isolated_user_config: Path) -> None:
    with pytest.raises(ModeError, match="unknown mode 'nope'; available: careful-review, explain"):
        get_mode("nope")
    (isolated_user_config / "modes").mkdir(parents=True)
    bad = isolated_user_config / "modes" / "broken.toml"
    bad.write_text('name = "broken"\nscale = 3\n')
    with pytest.raises(ModeError, match=r"broken.toml:2: scale: unknown key"):
        get_mode("broken")
    with pytest.raises(ModeError, match="cannot read mode file"):
        load_mode_file(isolated_user_config / "missing.toml")


def _bad_repo_modes(repo: Path) -> Path:
    modes = repo / ".rudder" / "modes"
    modes.mkdir(parents=True)
    (modes / "broken.toml").write_text('name = "broken"\nscale = 3\n')
    (modes / "garbled.toml").write_text("name = \n")
    (modes / "neutral.toml").write_text('name = "neutral"\ntemperature = "hot"\n')  # a bad override
    (modes / "good.toml").write_text('name = "good"\n')
    return modes


def test_every_bad_mode_file_is_reported_and_the_good_ones_still_load(tmp_path: Path) -> None:
    modes = _bad_repo_modes(tmp_path)
    scan = scan_modes(tmp_path)
    assert sorted(p.path.name for p in scan.problems) == ["broken.toml", "garbled.toml", "neutral.toml"]
    assert {p.name for p in scan.problems} == {"broken", "garbled", "neutral"}
    assert "good" in scan.modes and "fast-draft" in scan.modes and "broken" not in scan.modes
    assert "good" in load_modes(tmp_path)
    assert get_mode("good", tmp_path).source == modes / "good.toml"
    assert get_mode("fast-draft/prompt-only", tmp_path).name == "fast-draft/prompt-only"


@pytest.mark.parametrize("name", ["broken", "garbled", "broken/prompt-only"])
def test_selecting_a_bad_mode_is_an_error_naming_its_file(tmp_path: Path, name: str) -> None:
    """A mode defined only in a bad file does not exist: selecting it names the file."""
    _bad_repo_modes(tmp_path)
    base = name.split("/")[0]
    with pytest.raises(ModeError, match=rf"(?s)mode {base!r} is defined in a file with errors.*{base}\.toml"):
        get_mode(name, tmp_path)


def test_a_bad_override_falls_back_to_the_mode_it_overrides_and_names_both_files(tmp_path: Path) -> None:
    """A typo in a repo `neutral.toml` must not remove the built-in neutral (a default `rudder run` needs it);
    the problem says which file was skipped and which definition is used instead."""
    modes = _bad_repo_modes(tmp_path)
    builtin = get_mode("neutral")
    assert get_mode("neutral", tmp_path).source == builtin.source
    assert get_mode("neutral/prompt-only", tmp_path).name == "neutral/prompt-only"
    problem = next(p for p in scan_modes(tmp_path).problems if p.name == "neutral")
    assert problem.path == modes / "neutral.toml" and problem.fallback == builtin.source
    assert {p.name: p.fallback for p in scan_modes(tmp_path).problems}["broken"] is None
    with pytest.raises(ModeError, match=r"unknown mode 'nope'; available: .*\bneutral\b"):
        get_mode("nope", tmp_path)
