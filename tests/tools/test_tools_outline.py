"""The outline tool and tree-sitter tags, one sample per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.tools.base import PathEscapeError, ToolError
from rudder.tools.tags import file_tags

SAMPLES = {
    "a.py": (
        "class Shape:\n    def area(self):\n        return helper()\n\ndef helper():\n    return 1\n",
        {("class", "Shape"), ("function", "area"), ("function", "helper")},
    ),
    "a.js": (
        "function greet(n) { return say(n); }\nclass Box { open() { return 1; } }\nconst f = () => 2;\n",
        {("function", "greet"), ("class", "Box"), ("method", "open"), ("function", "f")},
    ),
    "a.ts": (
        "interface Point { x: number }\nclass Grid { cell(): number { return 0; } }\ntype Id = string;\n"
        "enum Colour { Red }\n",
        {("interface", "Point"), ("class", "Grid"), ("method", "cell"), ("type", "Id"), ("enum", "Colour")},
    ),
    "a.go": (
        "package a\ntype Server struct { port int }\nfunc (s *Server) Start() { run() }\nfunc run() {}\n",
        {("struct", "Server"), ("method", "Start"), ("function", "run")},
    ),
    "a.rs": (
        "struct Point { x: i32 }\ntrait Draw { fn draw(&self); }\nimpl Point { fn new() -> Self { Point { x: 0 } } }\n"
        "fn main() { Point::new(); }\n",
        {("struct", "Point"), ("trait", "Draw"), ("impl", "Point"), ("function", "new"), ("function", "main")},
    ),
    "a.c": (
        "struct node { int v; };\nint add(int a, int b) { return a + b; }\nchar *name(void) { return 0; }\n",
        {("struct", "node"), ("function", "add"), ("function", "name")},
    ),
}


@pytest.mark.parametrize("filename", sorted(SAMPLES))
def test_each_language_yields_its_definitions(tmp_path: Path, filename: str) -> None:
    source, expected = SAMPLES[filename]
    (tmp_path / filename).write_text(source)
    tags = file_tags(tmp_path / filename, filename)
    assert {(t.kind, t.name) for t in tags if t.role == "def"} >= expected


def test_references_are_collected_for_ranking(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SAMPLES["a.py"][0])
    refs = [t.name for t in file_tags(tmp_path / "a.py", "a.py") if t.role == "ref"]
    assert refs == ["helper"]


def test_outline_of_a_file_nests_methods(call, root: Path) -> None:
    (root / "shapes.py").write_text(SAMPLES["a.py"][0])
    text = call("outline", path="shapes.py")
    assert text.splitlines() == ["1: class class Shape:", "  2: function def area(self):", "5: function def helper():"]


def test_outline_of_a_directory_respects_gitignore(call, root: Path) -> None:
    (root / "src" / "util.go").write_text(SAMPLES["a.go"][0])
    (root / "build").mkdir()
    (root / "build" / "gen.py").write_text("def generated():\n    pass\n")
    text = call("outline", path=".")
    assert "src/app.py:" in text and "src/util.go:" in text and "Start" in text
    assert "generated" not in text


def test_unsupported_language_and_escapes_are_refused(call, root: Path) -> None:
    with pytest.raises(ToolError, match="does not know the language of README.md; it reads c, go, javascript"):
        call("outline", path="README.md")
    with pytest.raises(PathEscapeError):
        call("outline", path="../outside")
    with pytest.raises(PathEscapeError):
        call("outline", path="/etc")


def test_a_file_with_syntax_errors_still_outlines_what_parses(call, root: Path) -> None:
    (root / "broken.py").write_text("def good():\n    return 1\n\ndef bad(:\n    pass\n\nclass Fine:\n    pass\n")
    text = call("outline", path="broken.py")
    assert "good" in text and "Fine" in text
