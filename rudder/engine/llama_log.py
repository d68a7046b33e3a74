"""llama.cpp's own log lines go to the Python logger `rudder.llama_cpp`, never straight to the terminal.

llama-cpp-python installs a log callback that prints to stderr, and it maps llama.cpp's levels with an
old enum (ggml's is NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5; it reads 3 as ERROR): after
`Llama(verbose=False)` sets its logger to ERROR, every llama.cpp *warning* still reached the terminal
(`llama_kv_cache_iswa: using full-size SWA cache (ref: ...)` for each context on a gemma3 or deepseek4
model). Rudder replaces that callback with one that logs at the right level to `rudder.llama_cpp`, which
has no output of its own: `--verbose` adds a stderr handler, `rudder acp` sends it to its log (stderr).
Rudder reports the errors that matter itself (a model that does not load, a context overflow).
"""

from __future__ import annotations

import collections
import ctypes
import logging
import sys

import llama_cpp

log = logging.getLogger("rudder.llama_cpp")
log.addHandler(logging.NullHandler())  # without it, Python's last-resort handler would print warnings
# llama.cpp's levels, one step quieter: its warnings are notes for a Rudder user, its info is detail
_LEVELS = {0: logging.INFO, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.WARNING}
_ERROR, _CONTINUE = 4, 5
_state = {"level": logging.DEBUG, "pending": "", "error": False}
_errors: collections.deque[str] = collections.deque(maxlen=8)  # llama.cpp's latest error lines (see last_error)
_verbose_handler: logging.Handler | None = None


@llama_cpp.llama_log_callback
def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    """Lines arrive in pieces (CONT continues the previous one): log each whole line once."""
    if level != _CONTINUE:
        _state["level"] = _LEVELS.get(level, logging.INFO)
        _state["error"] = level == _ERROR
    pending = _state["pending"] + text.decode("utf-8", "replace")
    *lines, rest = pending.split("\n")
    _state["pending"] = rest
    for line in lines:
        if line.strip():
            log.log(_state["level"], line)
            if _state["error"]:
                _errors.append(line.strip())


def install(verbose: bool = False) -> None:
    """Take over llama.cpp's log (again: loading llama_cpp installs its own callback); `verbose` shows it."""
    global _verbose_handler
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
    if verbose and _verbose_handler is None:
        _verbose_handler = logging.StreamHandler(sys.stderr)
        _verbose_handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(_verbose_handler)
        log.setLevel(logging.DEBUG)


def clear_errors() -> None:
    _errors.clear()


def last_error() -> str:
    """Why llama.cpp refused what it was last asked (its own words, e.g. "unknown model architecture:
    'mamba9'"), or "" when it logged no error since `clear_errors`."""
    for line in reversed(_errors):
        _, found, reason = line.partition("error loading model: ")
        if found:
            return reason.strip()
    return _errors[-1] if _errors else ""
