"""The outline tool: the symbols of a file, or of every supported file under a directory, with line numbers."""

from __future__ import annotations

from pydantic import Field

from rudder.interfaces import StepKind
from rudder.tools.base import Access, ToolArgs, ToolError, Workspace, tool, truncate
from rudder.tools.tags import Tag, file_tags, supported, supported_languages
from rudder.tools.walk import visible_files


class OutlineArgs(ToolArgs):
    path: str = Field(".", description="a file or a directory")


def render_outline(tags: list[Tag]) -> list[str]:
    """Definitions nested by containment: methods indented under their class."""
    lines: list[str] = []
    open_scopes: list[Tag] = []
    for tag in (t for t in tags if t.role == "def"):
        while open_scopes and tag.line > open_scopes[-1].end_line:
            open_scopes.pop()
        lines.append(f"{'  ' * len(open_scopes)}{tag.line}: {tag.kind} {tag.signature or tag.name}")
        open_scopes.append(tag)
    return lines


@tool(access=Access.READ, step_kind=StepKind.EXPLORE)
def outline(ws: Workspace, args: OutlineArgs) -> str:
    """List the classes and functions of a file or directory, with line numbers."""
    target = ws.resolve(args.path, must_exist=True)
    if target.is_file():
        if not supported(target):
            raise ToolError(
                f"outline does not know the language of {args.path}; it reads {', '.join(supported_languages())}"
            )
        body = render_outline(file_tags(target, ws.relative(target)))
        return "\n".join(body) or f"{args.path}: no classes or functions found"
    sections = []
    for relative in visible_files(ws, target):
        path = ws.root / relative
        if supported(path):
            body = render_outline(file_tags(path, relative))
            if body:
                sections.append("\n".join([f"{relative}:", *(f"  {line}" for line in body)]))
    if not sections:
        return f"{args.path}: no source files in {', '.join(supported_languages())}"
    return truncate("\n".join(sections), ws.output_limit, what="outline")
