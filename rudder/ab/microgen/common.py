"""What every task kind shares: the generated task, the word pools, the checker's prelude.

A checker is a small Python script written as a hidden check file (`.ab_check/check.py`): it reads the
repo the agent left, compares it with what the task asked for, and exits 1 with a line saying what is
wrong. Scripts run in subprocesses with a timeout (`python3`, `node`, `bash`); Python modules are imported
by the checker itself (a second interpreter per check would double the suite's test time): an endless
loop there is stopped by the task's check timeout.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

CHECK_FILE = ".ab_check/check.py"
CHECK_COMMAND = f"python3 -S {CHECK_FILE}"  # -S: no site-packages needed, a third faster


@dataclass
class GenTask:
    kind: str
    lang: str  # python | javascript | shell | text | config: the file kind the task is about
    instruction: str
    files: dict[str, str]
    check: str  # the checker's body (Python), run after PRELUDE
    solution: dict[str, str | None]  # files a correct agent leaves (None = deleted); for the suite's own tests
    executable: list[str] = field(default_factory=list)
    max_steps: int = 5  # a passing run takes 2 (the change, then finish); past 5 a run mostly loops


PRELUDE = '''\
import json, pathlib, re, subprocess, sys


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def text(path):
    p = pathlib.Path(path)
    if not p.is_file():
        fail(f"{path} is missing")
    return p.read_text(encoding="utf-8", errors="replace")


def same(path, expected):
    if text(path) != expected:
        fail(f"{path} was changed, and should not have been")


def lines(path):
    return [line.strip() for line in text(path).splitlines() if line.strip()]


def run(*cmd):
    """exit code, stdout and the tail of stderr of a command (10 s at most)."""
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        fail(f"{' '.join(cmd)} timed out")
    return done.returncode, done.stdout.strip(), done.stderr.strip()[-3000:]


def py_value(module, expr):
    """expr evaluated after importing module, as JSON would carry it (the check's own timeout stops a loop)."""
    sys.path.insert(0, ".")
    try:
        m = __import__(module)
        if pathlib.Path(getattr(m, "__file__", None) or "/").resolve().parent != pathlib.Path.cwd().resolve():
            fail(f"{module}.py is missing")
        return json.loads(json.dumps(eval(expr, {"m": m})))
    except Exception as exc:
        fail(f"{module}.py: {type(exc).__name__}: {exc}")


def js_value(module, expr):
    """The JSON of expr evaluated after require('./module.js') as m (in node)."""
    code = f"const m = require('./{module}.js'); console.log(JSON.stringify({expr}));"
    rc, out, err = run("node", "-e", code)
    if rc:
        errors = [line for line in err.splitlines() if re.match(r"\\w*Error\\b", line)] or [f"exit {rc}"]
        fail(f"{module}.js: {errors[0]}")
    return json.loads(out.splitlines()[-1]) if out else None


def expect(got, want, what):
    if got != want:
        fail(f"{what}: expected {want!r}, got {got!r}")

'''


def checker_source(body: str) -> str:
    return PRELUDE + "\n" + body.strip() + '\nprint("ok")\n'


def pick(rng: random.Random, items: list[str] | tuple[str, ...], k: int = 1) -> list[str]:
    return rng.sample(list(items), k)


MODULES = (
    "config",
    "settings",
    "app",
    "server",
    "client",
    "worker",
    "billing",
    "inventory",
    "shop",
    "weather",
    "report",
    "parser",
    "scheduler",
    "mailer",
    "cache",
    "tracker",
    "library",
    "garden",
    "kitchen",
    "player",
    "store",
    "ledger",
    "router",
    "upload",
    "backup",
    "metrics",
    "payroll",
    "game",
    "robot",
    "orders",
)
CONSTANTS = (
    "MAX_RETRIES",
    "TIMEOUT",
    "PORT",
    "BATCH_SIZE",
    "MAX_USERS",
    "PAGE_SIZE",
    "LIMIT",
    "WORKERS",
    "CACHE_TTL",
    "MAX_ITEMS",
    "DELAY",
    "THRESHOLD",
    "LEVEL",
    "BUFFER_SIZE",
    "MIN_SCORE",
    "INTERVAL",
    "QUOTA",
    "DEPTH",
)
FRUITS = ("apple", "banana", "cherry", "pear", "plum", "mango", "kiwi", "grape", "lemon", "peach", "melon", "fig")
COLORS = ("red", "green", "blue", "yellow", "purple", "orange", "black", "white", "pink", "brown", "grey", "teal")
ANIMALS = ("cat", "dog", "horse", "rabbit", "fox", "owl", "bear", "wolf", "goat", "duck", "frog", "lion")
CITIES = ("paris", "tokyo", "lima", "oslo", "cairo", "delhi", "rome", "berlin", "madrid", "dublin", "quito", "seoul")
TOOLS = ("hammer", "saw", "drill", "wrench", "chisel", "ruler", "pliers", "shovel", "rake", "ladder", "brush", "axe")
GROUPS = {"FRUITS": FRUITS, "COLORS": COLORS, "ANIMALS": ANIMALS, "CITIES": CITIES, "TOOLS": TOOLS}
PEOPLE = ("Ann", "Bob", "Carla", "Dev", "Eva", "Farid", "Gina", "Hugo", "Iris", "Jon", "Kemi", "Lena", "Mo", "Nia")
NOUNS = (
    "report",
    "invoice",
    "ticket",
    "order",
    "meeting",
    "backup",
    "release",
    "budget",
    "garden",
    "recipe",
    "lesson",
    "concert",
    "delivery",
    "payment",
    "review",
    "survey",
    "trip",
    "workshop",
)
VERBS = ("send", "check", "book", "clean", "print", "update", "call", "pay", "plan", "water", "fix", "sign")


def phrase(rng: random.Random) -> str:
    """A short lower-case phrase like 'book the concert'."""
    return f"{rng.choice(VERBS)} the {rng.choice(NOUNS)}"


def module_name(rng: random.Random) -> str:
    return rng.choice(MODULES)
