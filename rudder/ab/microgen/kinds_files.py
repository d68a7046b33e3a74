"""Task kinds on whole files and plain text: create, create a script, delete, append, replace a word,
count, answer a question into a file, edit a JSON/TOML/YAML value."""

from __future__ import annotations

import json
import random

from rudder.ab.microgen.common import CITIES, COLORS, FRUITS, NOUNS, PEOPLE, GenTask, phrase, pick

TEXT_NAMES = ("notes.txt", "todo.txt", "status.md", "motto.txt", "plan.txt", "summary.md", "memo.txt", "log.txt")


def _readme(rng: random.Random) -> str:
    return f"# {rng.choice(NOUNS).title()} tools\n\nSmall scripts for the {rng.choice(NOUNS)} team.\n"


def create_file(rng: random.Random) -> GenTask:
    name = rng.choice(TEXT_NAMES)
    content = phrase(rng) if rng.random() < 0.5 else f"{rng.choice(COLORS)} {rng.choice(FRUITS)}s"
    instruction = rng.choice(
        (
            f"create {name} containing: {content}",
            f"make a new file {name} with the text: {content}",
            f"write '{content}' into a new file called {name}",
        )
    )
    files = {"README.md": _readme(rng)}
    check = f"expect(text({name!r}).strip(), {content!r}, {name!r})\nsame('README.md', {files['README.md']!r})"
    return GenTask("create_file", "text", instruction, files, check, {name: content + "\n"})


def create_script(rng: random.Random, index: int) -> GenTask:
    lang = ("python", "shell", "javascript")[index % 3]
    stem = rng.choice(("hello", "greet", "welcome", "banner", "say", "motd", "hi"))
    message = rng.choice(
        (f"Hello, {rng.choice(PEOPLE)}", f"Welcome to {rng.choice(CITIES).title()}", f"{phrase(rng).capitalize()}")
    )
    ext, runner, body = {
        "python": ("py", "sys.executable", f"print({message!r})\n"),
        "shell": ("sh", "'bash'", f"echo {json.dumps(message)}\n"),
        "javascript": ("js", "'node'", f"console.log({json.dumps(message)});\n"),
    }[lang]
    name = f"{stem}.{ext}"
    instruction = rng.choice(
        (
            f"create {name} that prints {message}",
            f"write a script {name} that prints {message}",
            f"create a script {name} that prints {message}",
        )
    )
    check = (
        f"rc, out, err = run({runner}, {name!r})\n"
        f"if rc: fail(f'{name} exited {{rc}}: {{err[-300:]}}')\n"
        f"expect(out, {message!r}, 'the output of {name}')"
    )
    return GenTask("create_script", lang, instruction, {"README.md": _readme(rng)}, check, {name: body})


def delete_file(rng: random.Random) -> GenTask:
    names = pick(rng, ("old_notes.txt", "draft.md", "temp.py", "backup.sh", "unused.js", "scratch.txt", "old.json"), 3)
    files = {n: f"{phrase(rng)}\n" for n in names}
    target = names[0]
    instruction = rng.choice((f"delete the file {target}", f"remove the file {target}", f"delete {target}"))
    keep = "\n".join(f"same({n!r}, {files[n]!r})" for n in names[1:])
    check = f"if pathlib.Path({target!r}).exists(): fail('{target} still exists')\n{keep}"
    return GenTask("delete_file", "text", instruction, files, check, {target: None})


def append_line(rng: random.Random) -> GenTask:
    name = rng.choice(("todo.txt", "shopping.txt", "guests.txt", "chores.txt", "ideas.txt"))
    items = [phrase(rng) for _ in range(rng.randint(2, 4))]
    new = phrase(rng)
    while new in items:
        new = phrase(rng)
    instruction = rng.choice(
        (
            f"append the line '{new}' to the end of {name}",
            f"add the line '{new}' to the end of {name}",
            f"append '{new}' as the last line of {name}",
        )
    )
    check = f"expect(lines({name!r}), {[*items, new]!r}, 'the lines of {name}')"
    files = {name: "\n".join(items) + "\n"}
    return GenTask("append_line", "text", instruction, files, check, {name: files[name] + new + "\n"})


def replace_word(rng: random.Random) -> GenTask:
    name = rng.choice(("greeting.txt", "motto.txt", "banner.txt", "welcome.md", "sign.txt"))
    old, new = pick(rng, ("morning", "evening", "summer", "winter", "monday", "friday", "coffee", "tea", "north"), 2)
    body = [f"Good {old}, team.", f"See you {rng.choice(('soon', 'later', 'tomorrow'))}.", rng.choice(PEOPLE)]
    instruction = rng.choice(
        (
            f"in {name}, replace the word {old} with {new}",
            f"replace the word {old} with {new} in {name}",
            f"in {name}, change the word {old} to {new}",
        )
    )
    want = [line.replace(old, new) for line in body]
    check = f"expect(lines({name!r}), {want!r}, 'the lines of {name}')"
    return GenTask(
        "replace_word", "text", instruction, {name: "\n".join(body) + "\n"}, check, {name: "\n".join(want) + "\n"}
    )


def count(rng: random.Random) -> GenTask:
    out = rng.choice(("count.txt", "answer.txt", "result.txt", "total.txt"))
    if rng.random() < 0.8:
        name = rng.choice(("data.csv", "names.txt", "guests.txt", "events.log"))
        rows = [f"{rng.choice(PEOPLE)},{rng.randint(1, 99)}" for _ in range(rng.randint(2, 6))]
        number, what = len(rows), f"lines in {name}"
    else:
        name = rng.choice(("sentence.txt", "quote.txt", "title.txt"))
        rows = [" ".join(rng.choice((*COLORS, *FRUITS, *NOUNS)) for _ in range(rng.randint(2, 6)))]
        number, what = len(rows[0].split()), f"words in {name}"
    files = {name: "\n".join(rows) + "\n"}
    instruction = rng.choice(
        (
            f"count the {what} and write the number into {out}",
            f"count the {what}, then write the number into {out}",
        )
    )
    check = (
        f"found = re.findall(r'\\d+', text({out!r}))\n"
        f"expect(found, [{str(number)!r}], 'the numbers in {out}')\nsame({name!r}, {files[name]!r})"
    )
    return GenTask("count", "text", instruction, files, check, {out: f"{number}\n"})


def answer_question(rng: random.Random) -> GenTask:
    port, host = str(rng.randint(1025, 9999)), rng.choice(("db.local", "api.example.org", "cache01", "10.0.0.7"))
    user = rng.choice(PEOPLE).lower()
    style = rng.randrange(4)
    name, body = [
        ("settings.py", f'HOST = "{host}"\nPORT = {port}\nUSER = "{user}"\n'),
        (".env", f"HOST={host}\nPORT={port}\nUSER={user}\n"),
        ("app.ini", f"[server]\nhost = {host}\nport = {port}\nuser = {user}\n"),
        ("service.json", json.dumps({"host": host, "port": int(port), "user": user}, indent=2) + "\n"),
    ][style]
    question, value, noun = rng.choice(
        (("Which port number", port, "number"), ("Which host", host, "host"), ("Which user name", user, "name"))
    )
    out = rng.choice(("answer.txt", "reply.txt"))
    instruction = rng.choice(
        (
            f"{question} does {name} set? Write just the {noun} into {out}",
            f"{question} is set in {name}? Write just the {noun} into {out}",
        )
    )
    check = f"expect(text({out!r}).strip().strip('\"'), {value!r}, {out!r})\nsame({name!r}, {body!r})"
    return GenTask("answer_question", "config", instruction, {name: body}, check, {out: value + "\n"})


def _config_text(fmt: str, data: dict[str, object]) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "toml":
        return "".join(f"{k} = {json.dumps(v)}\n" for k, v in data.items())
    return "".join(f"{k}: {v}\n" for k, v in data.items())


def edit_config(rng: random.Random, index: int) -> GenTask:
    fmt = ("json", "toml", "yaml")[index % 3]
    name = f"{rng.choice(('config', 'settings', 'app', 'deploy', 'service'))}.{'yml' if fmt == 'yaml' else fmt}"
    keys = pick(rng, ("port", "workers", "timeout", "retries", "max_users", "batch_size", "cache_ttl", "level"), 3)
    data: dict[str, object] = {k: rng.randint(1, 60) for k in keys}
    data["name"] = rng.choice(NOUNS)
    key = keys[0]
    old = data[key]
    new = old + rng.randint(1, 40)  # type: ignore[operator]
    instruction = rng.choice(
        (
            f"in {name}, set {key} to {new}",
            f"change {key} in {name} from {old} to {new}",
            f"{name}: {key} should be {new} (it is {old} now)",
        )
    )
    want = {**data, key: new}
    loader = {
        "json": f"json.loads(text({name!r}))",
        "toml": f"__import__('tomllib').loads(text({name!r}))",
        "yaml": "{k.strip(): int(v) if v.strip().isdigit() else v.strip() for k, _, v in "
        f"(line.partition(':') for line in lines({name!r}))}}",
    }[fmt]
    check = (
        "try:\n"
        f"    got = {loader}\n"
        "except Exception as exc:\n"
        f"    fail(f'{name} no longer parses: {{exc}}')\n"
        f"expect(got, {want!r}, 'the settings in {name}')"
    )
    return GenTask(
        "edit_config", "config", instruction, {name: _config_text(fmt, data)}, check, {name: _config_text(fmt, want)}
    )
