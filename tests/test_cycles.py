"""No import cycles between Rudder's modules, TYPE_CHECKING imports counted: a module that a file imports
must not import that file back (engine.py and its parts, ui's commands and screens were such cycles)."""

from __future__ import annotations

import grimp

# the one cycle left, outside the rooms issue 25 named: tools/base.py types ToolContext.sandbox with the
# Sandbox class, and sandbox.py raises base's ToolError
KNOWN = [{"rudder.tools.base", "rudder.tools.sandbox"}]


def cycles(imports: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a set of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in imports.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(group)

    for module in sorted(imports):
        if module not in index:
            visit(module)
    return found


def test_the_finder_sees_a_cycle_through_three_modules() -> None:
    found = cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert found == [{"a", "b", "c"}]


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = grimp.build_graph("rudder", exclude_type_checking_imports=False)
    imports = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert sorted(map(sorted, cycles(imports))) == sorted(map(sorted, KNOWN))
