"""`rudder doctor`: one screen on the model, CPU, sandbox, config and library; bad input is one line each."""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import numpy as np
import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.cli.doctor import sandbox_rows

ENV = {"RUDDER_THREADS": "1", "COLUMNS": "250", "NO_COLOR": "1"}


def doctor(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", *args], env=ENV)
    return result.exit_code, result.output


def rows(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        key, _, value = line.partition("  ")
        if key.strip() and value.strip():
            found[key.strip()] = value.strip()
    return found


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.slow
def test_the_embedded_model_is_described_on_one_screen(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".rudder.toml").write_text('[agent]\nsandbox = "required"\napproval = "auto"\n')
    code, output = doctor("-C", str(repo))
    assert code == 0, output
    found = rows(output)
    assert found["architecture"].startswith("llama → profile llama")
    assert found["parameters"].startswith("134.5M parameters; 30 layers, n_embd 576")
    assert found["quantisation"].startswith("Q4_1")
    assert found["chat template"] == "the GGUF's own (chatml)"
    assert found["steering sites"].startswith("residual l_out-0..29, llama.cpp's control vector adds there")
    assert "AVX" in found["CPU kernels"] or "NEON" in found["CPU kernels"]
    assert found["threads"] == "1 ($RUDDER_THREADS)"
    assert found["capture weights"].startswith(("an f16 copy", "a bf16 copy", "the model as it is"))
    assert "agent.sandbox = required" in found["sandbox"]
    assert found["repo config set"] == "agent.sandbox 'auto' → 'required'"  # tightened, kept
    assert "approval = 'auto' ignored" in found["repo config refused"]  # loosening, refused
    assert "terse (health strong, calibrated ×" in found["vectors"]  # the shipped library for SmolLM2
    assert len(output.splitlines()) <= 40  # one screen


@pytest.mark.slow
def test_a_base_model_of_another_family(tiny_model, tmp_path: Path) -> None:
    code, output = doctor("--model", str(tiny_model("gemma3")), "-C", str(tmp_path))
    assert code == 0, output
    found = rows(output)
    assert found["architecture"].startswith("gemma3 → profile gemma; residual l_out-N after post-attention")
    assert found["chat template"].startswith("none: a base model; prompts use the plain-completion form")
    assert found["tool calls"] == "json; stop text '\\nQuestion:', '\\n\\nQuestion'"
    assert {"sa_out", "attn_post_norm", "ffn_post_norm", "l_out"} <= set(
        found["sites per layer"].split(": ")[1].split(", ")
    )
    assert found["context"] == "4096 tokens (trained on 4096)"  # the default 8192, capped as EngineConfig says
    assert found["vectors"] == "none for this model" and "terse" in found["other models'"]


def fake_bwrap(directory: Path, script: str) -> Path:
    directory.mkdir()
    path = directory / "bwrap"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def test_a_bwrap_that_fails_is_reported_with_its_own_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bwrap = fake_bwrap(tmp_path / "bin", "echo 'bwrap: setting up uid map: Permission denied' >&2; exit 1")
    monkeypatch.setenv("PATH", str(bwrap.parent))
    [(key, value)] = sandbox_rows(None)
    assert key == "sandbox"
    assert value.endswith(
        f"{bwrap} cannot create a sandbox here: bwrap: setting up uid map: Permission denied (exit status 1)"
    )


def test_a_missing_bwrap_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    [(_, value)] = sandbox_rows(None)
    assert "bubblewrap (bwrap) is not installed: shell commands run unsandboxed" in value


def test_a_file_that_is_not_a_gguf_is_one_line_and_the_rest_still_reports(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"PK\x03\x04 not a model")
    code, output = doctor("--model", str(model), "-C", str(tmp_path))
    assert code == 1
    [line] = error_lines(output)
    assert str(model) in line and "is not a GGUF model" in line
    found = rows(output)
    assert "sandbox" in found and "CPU kernels" in found and found["vectors"] == "no model loaded"
    assert "Traceback" not in output


def write_unknown_architecture(path: Path) -> Path:
    writer = gguf.GGUFWriter(str(path), "mamba9")
    writer.add_uint32("mamba9.block_count", 2)
    writer.add_tensor("token_embd.weight", np.zeros((8, 16), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_an_architecture_llama_cpp_cannot_load_is_one_line_in_its_words(tmp_path: Path) -> None:
    model = write_unknown_architecture(tmp_path / "odd.gguf")
    code, output = doctor("--model", str(model), "-C", str(tmp_path))
    assert code == 1
    [line] = error_lines(output)
    assert line.startswith(f"error: {model}: llama.cpp (llama-cpp-python ")
    assert line.endswith("cannot load this model: unknown model architecture: 'mamba9'")


def test_the_same_line_from_any_command(tmp_path: Path) -> None:
    model = write_unknown_architecture(tmp_path / "odd.gguf")
    result = CliRunner().invoke(app, ["vectors", "sites", "--model", str(model)], env=ENV)
    assert result.exit_code == 2
    [line] = error_lines(result.output)
    assert "unknown model architecture: 'mamba9'" in line and os.fspath(model) in line
