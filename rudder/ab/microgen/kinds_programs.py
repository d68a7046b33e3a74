"""Task kinds about making a program run: add a missing import, implement a stub from its docstring (a
test shows the use), fix a shell script. Their hint rates are in kinds_fix.HINT_RATE."""

from __future__ import annotations

import json
import random

from rudder.ab.microgen.common import CITIES, PEOPLE, GenTask, module_name
from rudder.ab.microgen.kinds_fix import _cases_check, _hint

IMPORTS = (  # module, function name, body using the module, cases, function
    ("math", "hypotenuse", "return math.sqrt(a * a + b * b)", [(3, 4), (6, 8)], lambda a, b: (a * a + b * b) ** 0.5),
    (
        "json",
        "to_json",
        "return json.dumps({'a': a, 'b': b})",
        [(1, 2), (5, 0)],
        lambda a, b: json.dumps({"a": a, "b": b}),
    ),
    (
        "statistics",
        "middle",
        "return statistics.median([a, b, a + b])",
        [(1, 2), (4, 4)],
        lambda a, b: sorted([a, b, a + b])[1],
    ),
    ("string", "letter", "return string.ascii_lowercase[a + b]", [(0, 1), (2, 3)], lambda a, b: "abcdefghij"[a + b]),
    (
        "textwrap",
        "short",
        "return textwrap.shorten('x ' * a, width=b + 10)",
        [(2, 1), (3, 2)],
        lambda a, b: " ".join(["x"] * a),
    ),
    (
        "functools",
        "product",
        "return functools.reduce(lambda x, y: x * y, [a, b, 2])",
        [(2, 3), (4, 5)],
        lambda a, b: a * b * 2,
    ),
)


def missing_import(rng: random.Random) -> GenTask:
    lib, name, body, cases, fn = rng.choice(IMPORTS)
    mod = module_name(rng)
    source = f"def {name}(a, b):\n    {body}\n"
    instruction = rng.choice(
        (
            f"{mod}.py fails with NameError: name '{lib}' is not defined. Fix it",
            f"add the missing import to {mod}.py so that {name} works",
            f"calling {name} from {mod}.py crashes because a module is not imported; fix that",
        )
    )
    if _hint(rng, "missing_import"):
        instruction += f" (add `import {lib}` at the top)"
    path = f"{mod}.py"
    return GenTask(
        "missing_import",
        "python",
        instruction,
        {path: source},
        _cases_check("python", mod, name, cases, fn),
        {path: f"import {lib}\n\n\n{source}"},
    )


STUBS = (  # name, params, docstring, body, test cases, hidden cases, function
    ("double", "x", "Return x multiplied by 2.", "return x * 2", [(4,), (0,)], [(7,), (-3,)], lambda x: x * 2),
    ("add_tax", "price", "Return price plus 10.", "return price + 10", [(5,)], [(0,), (32,)], lambda p: p + 10),
    (
        "shout",
        "word",
        "Return word in upper case.",
        "return word.upper()",
        [("hi",)],
        [("ok",), ("Abc",)],
        lambda w: w.upper(),
    ),
    (
        "count_items",
        "items",
        "Return how many items there are.",
        "return len(items)",
        [([1, 2],)],
        [([],), ([4, 4, 4],)],
        len,
    ),
    ("biggest", "items", "Return the largest item.", "return max(items)", [([3, 9, 2],)], [([1],), ([5, 8],)], max),
    (
        "reverse",
        "text",
        "Return text backwards.",
        "return text[::-1]",
        [("abc",)],
        [("rudder",), ("x",)],
        lambda t: t[::-1],
    ),
    (
        "greeting",
        "name",
        "Return 'Hello, ' followed by name.",
        "return 'Hello, ' + name",
        [("Ann",)],
        [("Bo",), ("",)],
        lambda n: "Hello, " + n,
    ),
)


def implement_function(rng: random.Random) -> GenTask:
    name, params, doc, body, shown, hidden, fn = rng.choice(STUBS)
    mod = module_name(rng)
    path, test = f"{mod}.py", f"test_{mod}.py"
    stub = f'def {name}({params}):\n    """{doc}"""\n    raise NotImplementedError\n'
    asserts = "".join(f"    assert {name}({', '.join(repr(a) for a in args)}) == {fn(*args)!r}\n" for args in shown)
    test_text = f"from {mod} import {name}\n\n\ndef test_{name}():\n{asserts}"
    instruction = rng.choice(
        (
            f"implement {name} in {path} as its docstring says ({test} shows the expected results)",
            f"{name} in {path} only raises NotImplementedError; write its body so it does what the docstring says",
        )
    )
    if _hint(rng, "implement_function"):
        instruction += f" (the body is `{body}`)"
    check = _cases_check("python", mod, name, shown + hidden, fn) + f"\nsame({test!r}, {test_text!r})"
    solved = stub.replace("raise NotImplementedError", body)
    return GenTask("implement_function", "python", instruction, {path: stub, test: test_text}, check, {path: solved})


def _scripts(rng: random.Random) -> list[tuple[str, str, str, str, str]]:
    """(what is wrong, broken script, fixed script, expected output, hint) for one drawing of names."""
    who, city = rng.choice(PEOPLE), rng.choice(CITIES).title()
    a, b = rng.randint(2, 30), rng.randint(2, 30)
    sh = "#!/usr/bin/env bash\n"
    return [
        (
            f"it should print Hello, {who} but the name is missing",
            f'{sh}NAME="{who}"\necho "Hello, $NAEM"\n',
            f'{sh}NAME="{who}"\necho "Hello, $NAME"\n',
            f"Hello, {who}",
            "the variable is `$NAME`, not `$NAEM`",
        ),
        (
            f"it should print {a + b} (the sum of A and B)",
            f"{sh}A={a}\nB={b}\necho $((A - B))\n",
            f"{sh}A={a}\nB={b}\necho $((A + B))\n",
            str(a + b),
            "use `+` instead of `-`",
        ),
        (
            f"it fails with a syntax error and should print Going to {city}",
            f'{sh}if true\n  echo "Going to {city}"\nfi\n',
            f'{sh}if true; then\n  echo "Going to {city}"\nfi\n',
            f"Going to {city}",
            "`if true` needs `; then`",
        ),
        (
            f"it fails with 'command not found' and should print Visit {city}",
            f'{sh}ech "Visit {city}"\n',
            f'{sh}echo "Visit {city}"\n',
            f"Visit {city}",
            "`ech` should be `echo`",
        ),
        (
            "it should print the numbers 1 to 3, one per line, but fails with a syntax error",
            f"{sh}for i in 1 2 3 do\n  echo $i\ndone\n",
            f"{sh}for i in 1 2 3; do\n  echo $i\ndone\n",
            "1\n2\n3",
            "add `;` before `do`",
        ),
    ]


def fix_shell(rng: random.Random) -> GenTask:
    wrong, broken, fixed, output, hint = rng.choice(_scripts(rng))
    name = f"{rng.choice(('run', 'greet', 'build', 'deploy', 'report', 'start'))}.sh"
    instruction = rng.choice(
        (f"{name} is broken: {wrong}. Fix the script", f"fix the shell script {name}: when run with bash, {wrong}")
    )
    if _hint(rng, "fix_shell"):
        instruction += f" ({hint})"
    check = (
        f"rc, out, err = run('bash', {name!r})\n"
        f"if rc: fail(f'bash {name} exited {{rc}}: {{err[-300:]}}')\n"
        f"expect(out, {output!r}, 'the output of {name}')"
    )
    return GenTask("fix_shell", "shell", instruction, {name: broken}, check, {name: fixed}, executable=[name])
