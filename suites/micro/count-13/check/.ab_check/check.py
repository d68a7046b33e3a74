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
        errors = [line for line in err.splitlines() if re.match(r"\w*Error\b", line)] or [f"exit {rc}"]
        fail(f"{module}.js: {errors[0]}")
    return json.loads(out.splitlines()[-1]) if out else None


def expect(got, want, what):
    if got != want:
        fail(f"{what}: expected {want!r}, got {got!r}")


found = re.findall(r'\d+', text('total.txt'))
expect(found, ['3'], 'the numbers in total.txt')
same('guests.txt', 'Jon,57\nIris,19\nHugo,8\n')
print("ok")
