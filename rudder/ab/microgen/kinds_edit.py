"""Task kinds that edit code by name, in Python or JavaScript (alternating by index): change a value, add to
a list, add to a dict/object, rename a function and its use."""

from __future__ import annotations

import json
import random

from rudder.ab.microgen.common import CONSTANTS, FRUITS, GROUPS, GenTask, module_name, pick


def _lang(index: int) -> tuple[str, str]:
    return ("python", "py") if index % 2 == 0 else ("javascript", "js")


def _exports(names: list[str]) -> str:
    return "module.exports = { " + ", ".join(names) + " };\n"


def change_value(rng: random.Random, index: int) -> GenTask:
    lang, ext = _lang(index)
    mod = module_name(rng)
    names = pick(rng, CONSTANTS, 3)
    values = {n: rng.randint(1, 90) for n in names}
    target = names[rng.randrange(3)]
    old = values[target]
    new = old + rng.choice((1, 2, 5, 10, 20, 30))

    def render(vals: dict[str, int]) -> str:
        if lang == "python":
            return "".join(f"{n} = {v}\n" for n, v in vals.items())
        return "".join(f"const {n} = {v};\n" for n, v in vals.items()) + "\n" + _exports(list(vals))

    instruction = rng.choice(
        (
            f"in {mod}.{ext}, change {target} from {old} to {new}",
            f"change {target} from {old} to {new} in {mod}.{ext}",
            f"in {mod}.{ext}, set {target} to {new} (it is {old} now)",
        )
    )
    want = {**values, target: new}
    getter = "py_value" if lang == "python" else "js_value"
    expr = "{" + ", ".join(f"'{n}': m.{n}" for n in names) + "}"
    check = f"expect({getter}({mod!r}, {expr!r}), {want!r}, 'the constants in {mod}.{ext}')"
    return GenTask(
        "change_value", lang, instruction, {f"{mod}.{ext}": render(values)}, check, {f"{mod}.{ext}": render(want)}
    )


def add_list_item(rng: random.Random, index: int) -> GenTask:
    lang, ext = _lang(index)
    mod = module_name(rng)
    group = rng.choice(sorted(GROUPS))
    words = pick(rng, GROUPS[group], rng.randint(3, 5))
    items, new = words[:-1], words[-1]

    def render(values: list[str]) -> str:
        listed = ", ".join(f"'{v}'" for v in values)
        if lang == "python":
            return f"{group} = [{listed}]\n"
        return f"const {group} = [{listed}];\n\n{_exports([group])}"

    instruction = rng.choice(
        (
            f"add '{new}' to the {group} list in {mod}.{ext}",
            f"in {mod}.{ext}, add '{new}' to the {group} list",
            f"add the item '{new}' to the {group} list in {mod}.{ext}",
        )
    )
    getter = "py_value" if lang == "python" else "js_value"
    check = (
        f"got = {getter}({mod!r}, 'm.{group}')\n"
        f"expect(sorted(got), {sorted([*items, new])!r}, '{group} in {mod}.{ext} (any order)')"
    )
    return GenTask(
        "add_list_item",
        lang,
        instruction,
        {f"{mod}.{ext}": render(items)},
        check,
        {f"{mod}.{ext}": render([*items, new])},
    )


def add_dict_entry(rng: random.Random, index: int) -> GenTask:
    lang, ext = _lang(index)
    mod = module_name(rng)
    table = rng.choice(("PRICES", "STOCK", "SCORES", "AGES", "LIMITS", "WEIGHTS"))
    keys = pick(rng, FRUITS, rng.randint(3, 5))
    data = {k: rng.randint(1, 99) for k in keys[:-1]}
    key, value = keys[-1], rng.randint(1, 99)

    def render(entries: dict[str, int]) -> str:
        if lang == "python":
            return f"{table} = {{" + ", ".join(f"'{k}': {v}" for k, v in entries.items()) + "}\n"
        return (
            f"const {table} = {{ " + ", ".join(f"{k}: {v}" for k, v in entries.items()) + f" }};\n\n{_exports([table])}"
        )

    thing = "dict" if lang == "python" else "object"
    instruction = rng.choice(
        (
            f"in {mod}.{ext}, add the key '{key}' with the value {value} to the {table} {thing}",
            f"add the key '{key}' with the value {value} to the {table} {thing} in {mod}.{ext}",
            f"in {mod}.{ext}, add '{key}': {value} to the {table} {thing}",
        )
    )
    getter = "py_value" if lang == "python" else "js_value"
    want = {**data, key: value}
    check = f"expect({getter}({mod!r}, 'm.{table}'), {want!r}, '{table} in {mod}.{ext}')"
    return GenTask(
        "add_dict_entry", lang, instruction, {f"{mod}.{ext}": render(data)}, check, {f"{mod}.{ext}": render(want)}
    )


RENAMES = (
    ("calc", "calculate"),
    ("get_total", "total_price"),
    ("proc", "process_items"),
    ("fmt", "format_name"),
    ("chk", "is_valid"),
    ("do_it", "run_job"),
    ("tmp", "scale"),
    ("helper", "add_tax"),
    ("f", "double"),
    ("compute", "compute_score"),
    ("handle", "handle_order"),
    ("load", "load_rows"),
)
BODIES = (("a + b", lambda a, b: a + b), ("a * b", lambda a, b: a * b), ("a - b", lambda a, b: a - b))


def rename_symbol(rng: random.Random, index: int) -> GenTask:
    lang, ext = _lang(index)
    mod = module_name(rng)
    old, new = rng.choice(RENAMES)
    if lang == "javascript":
        old, new = _camel(old), _camel(new)
    body, fn = rng.choice(BODIES)
    user = "apply_all" if lang == "python" else "applyAll"
    k = rng.randint(2, 9)

    def render(name: str) -> str:
        if lang == "python":
            return (
                f"def {name}(a, b):\n    return {body}\n\n\n"
                f"def {user}(items):\n    return [{name}(x, {k}) for x in items]\n"
            )
        return (
            f"function {name}(a, b) {{\n  return {body};\n}}\n\n"
            f"function {user}(items) {{\n  return items.map((x) => {name}(x, {k}));\n}}\n\n" + _exports([name, user])
        )

    kind_word = rng.choice(("function", "function", "helper"))
    instruction = rng.choice(
        (
            f"in {mod}.{ext}, rename the {kind_word} {old} to {new}",
            f"in {mod}.{ext}, rename the {kind_word} {old} to {new} everywhere",
            f"rename the {kind_word} {old} to {new} everywhere in {mod}.{ext}",
        )
    )
    getter = "py_value" if lang == "python" else "js_value"
    sample = [1, 2, 3]
    check = (
        f"if re.search(r'\\b{old}\\b', text('{mod}.{ext}')): fail('{old} is still in {mod}.{ext}')\n"
        f"expect({getter}({mod!r}, 'm.{new}(7, 3)'), {fn(7, 3)!r}, '{new}(7, 3)')\n"
        f"expect({getter}({mod!r}, 'm.{user}({json.dumps(sample)})'), {[fn(x, k) for x in sample]!r}, "
        f"'{user}({sample})')"
    )
    return GenTask(
        "rename_symbol", lang, instruction, {f"{mod}.{ext}": render(old)}, check, {f"{mod}.{ext}": render(new)}
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
