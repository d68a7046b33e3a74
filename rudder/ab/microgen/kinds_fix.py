"""Task kinds that fix something broken: a typo in prose, an off-by-one, a wrong operator, a missing
import, a stub to implement from its docstring (a test shows the use), a shell script that fails.

`HINT_RATE` is the difficulty knob: the share of a kind's tasks whose instruction also names the exact
change ("replace `range(n)` with `range(n + 1)`"); the rest say only what is wrong.
"""

from __future__ import annotations

import json
import random

from rudder.ab.microgen.common import CITIES, PEOPLE, GenTask, module_name

HINT_RATE = {
    "fix_typo": 1.0,
    "off_by_one": 1.0,
    "wrong_operator": 1.0,
    "missing_import": 1.0,
    "implement_function": 1.0,
    "fix_shell": 1.0,
}

TYPOS = (
    ("recieve", "receive"),
    ("seperate", "separate"),
    ("adress", "address"),
    ("enviroment", "environment"),
    ("occured", "occurred"),
    ("definately", "definitely"),
    ("untill", "until"),
    ("begining", "beginning"),
    ("tommorow", "tomorrow"),
    ("calender", "calendar"),
    ("goverment", "government"),
    ("wierd", "weird"),
    ("existance", "existence"),
    ("neccessary", "necessary"),
    ("Wellcome", "Welcome"),
    ("paramter", "parameter"),
)


def _hint(rng: random.Random, kind: str) -> bool:
    return rng.random() < HINT_RATE[kind]


def fix_typo(rng: random.Random) -> GenTask:
    name = rng.choice(("README.md", "NOTES.md", "guide.txt", "CHANGELOG.md", "docs.txt"))
    bad, good = rng.choice(TYPOS)
    body = [
        f"{good} to the {rng.choice(CITIES).title()} project.",
        f"Ask {rng.choice(PEOPLE)} before every release.",
        "Run it with: make run",
    ]
    line = rng.randrange(3)
    words = body[line].split(" ")
    if line:  # put the word into a line that does not contain it yet
        words.insert(rng.randint(1, len(words) - 1), good.lower())
    body[line] = " ".join(words)
    broken = [s.replace(good.lower(), bad.lower()).replace(good, bad) for s in body]
    if _hint(rng, "fix_typo"):
        instruction = f"fix the typo '{bad}' in {name} (it should be '{good}')"
    else:
        instruction = rng.choice((f"{name} has a spelling mistake; fix it", f"fix the misspelled word in {name}"))
    check = f"expect(lines({name!r}), {body!r}, 'the lines of {name}')"
    return GenTask(
        "fix_typo", "text", instruction, {name: "\n".join(broken) + "\n"}, check, {name: "\n".join(body) + "\n"}
    )


# (function, params, buggy body, fixed body, call, cases as (args, result)) per language
OFF_BY_ONE = {
    "python": (
        (
            "sum_to",
            "n",
            "    return sum(range(n))",
            "    return sum(range(n + 1))",
            [(4,), (10,)],
            "the sum of 1 to n",
            lambda n: n * (n + 1) // 2,
        ),
        (
            "last",
            "items",
            "    return items[len(items) - 2]",
            "    return items[len(items) - 1]",
            [([3, 5, 8],), ([1, 2],)],
            "the last item",
            lambda items: items[-1],
        ),
        (
            "first_n",
            "items, n",
            "    return items[: n - 1]",
            "    return items[:n]",
            [([1, 2, 3, 4], 2), ([5, 6, 7], 3)],
            "the first n items",
            lambda items, n: items[:n],
        ),
        (
            "countdown",
            "n",
            "    return list(range(n, 1, -1))",
            "    return list(range(n, 0, -1))",
            [(3,), (5,)],
            "the numbers from n down to 1",
            lambda n: list(range(n, 0, -1)),
        ),
    ),
    "javascript": (
        (
            "sumTo",
            "n",
            "  let s = 0;\n  for (let i = 1; i < n; i++) s += i;\n  return s;",
            "  let s = 0;\n  for (let i = 1; i <= n; i++) s += i;\n  return s;",
            [(4,), (10,)],
            "the sum of 1 to n",
            lambda n: n * (n + 1) // 2,
        ),
        (
            "last",
            "items",
            "  return items[items.length - 2];",
            "  return items[items.length - 1];",
            [([3, 5, 8],), ([1, 2],)],
            "the last item",
            lambda items: items[-1],
        ),
        (
            "firstN",
            "items, n",
            "  return items.slice(0, n - 1);",
            "  return items.slice(0, n);",
            [([1, 2, 3, 4], 2), ([5, 6, 7], 3)],
            "the first n items",
            lambda items, n: items[:n],
        ),
    ),
}


def _function(lang: str, name: str, params: str, body: str) -> str:
    if lang == "python":
        return f"def {name}({params}):\n{body}\n"
    return f"function {name}({params}) {{\n{body}\n}}\n\nmodule.exports = {{ {name} }};\n"


def _cases_check(lang: str, mod: str, name: str, cases: list[tuple], fn) -> str:  # type: ignore[no-untyped-def]
    getter = "py_value" if lang == "python" else "js_value"
    out = []
    for args in cases:
        call = f"m.{name}({', '.join(json.dumps(a) for a in args)})"
        out.append(f"expect({getter}({mod!r}, {call!r}), {fn(*args)!r}, {call[2:]!r})")
    return "\n".join(out)


def _diff_hint(buggy: str, fixed: str) -> str:
    old = next(a for a, b in zip(buggy.splitlines(), fixed.splitlines(), strict=False) if a != b).strip()
    new = next(b for a, b in zip(buggy.splitlines(), fixed.splitlines(), strict=False) if a != b).strip()
    return f" (replace `{old}` with `{new}`)"


def off_by_one(rng: random.Random, index: int) -> GenTask:
    lang = ("python", "javascript")[index % 2]
    ext = "py" if lang == "python" else "js"
    mod = module_name(rng)
    name, params, buggy, fixed, cases, meaning, fn = rng.choice(OFF_BY_ONE[lang])
    example = cases[0]
    call = f"{name}({', '.join(json.dumps(a) for a in example)})"
    instruction = rng.choice(
        (
            f"{name} in {mod}.{ext} is off by one: {call} should return {json.dumps(fn(*example))}. Fix it",
            f"fix the off-by-one bug in {name} ({mod}.{ext}); it should return {meaning}",
        )
    )
    if _hint(rng, "off_by_one"):
        instruction += _diff_hint(buggy, fixed)
    path = f"{mod}.{ext}"
    return GenTask(
        "off_by_one",
        lang,
        instruction,
        {path: _function(lang, name, params, buggy)},
        _cases_check(lang, mod, name, cases, fn),
        {path: _function(lang, name, params, fixed)},
    )


OPERATORS = (  # name, verb, right operator, wrong operator, function
    ("add", "return the sum of a and b", "+", "-", lambda a, b: a + b),
    ("multiply", "return a times b", "*", "+", lambda a, b: a * b),
    ("subtract", "return a minus b", "-", "+", lambda a, b: a - b),
    ("is_bigger", "return whether a is greater than b", ">", "<", lambda a, b: a > b),
    ("remainder", "return the remainder of a divided by b", "%", "//", lambda a, b: a % b),
)


def wrong_operator(rng: random.Random, index: int) -> GenTask:
    lang = ("python", "javascript")[index % 2]
    ext = "py" if lang == "python" else "js"
    mod = module_name(rng)
    name, verb, right, wrong, fn = rng.choice(OPERATORS)
    if lang == "javascript":
        name = {"is_bigger": "isBigger"}.get(name, name)
        wrong = {"//": "*"}.get(wrong, wrong)

    def body(op: str) -> str:
        return f"    return a {op} b" if lang == "python" else f"  return a {op} b;"

    instruction = rng.choice(
        (
            f"{name} in {mod}.{ext} should {verb}, but it uses the wrong operator; fix it",
            f"fix {name} in {mod}.{ext}: it must {verb}",
        )
    )
    if _hint(rng, "wrong_operator"):
        instruction += f" (use `{right}` instead of `{wrong}`)"
    cases = [(7, 3), (10, 4), (2, 9)]
    path = f"{mod}.{ext}"
    return GenTask(
        "wrong_operator",
        lang,
        instruction,
        {path: _function(lang, name, "a, b", body(wrong))},
        _cases_check(lang, mod, name, cases, fn),
        {path: _function(lang, name, "a, b", body(right))},
    )
