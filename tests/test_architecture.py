"""The layout rules that keep the package readable: one overlay kernel, no cycles."""

from __future__ import annotations

import ast

from conftest import ROOT

PACKAGE = ROOT / "mineland"
#: shapely functions that compute an overlay or a repair
OVERLAYS = {
    "union",
    "union_all",
    "unary_union",
    "intersection",
    "intersection_all",
    "difference",
    "symmetric_difference",
    "symmetric_difference_all",
    "make_valid",
    "buffer",
    "coverage_union",
    "coverage_union_all",
    "disjoint_subset_union",
    "disjoint_subset_union_all",
}
#: the same as geometry methods, and the geopandas overlays
METHODS = {"union", "intersection", "difference", "symmetric_difference", "buffer"}
GEOPANDAS = {"overlay", "clip", "dissolve", "make_valid"}
KERNEL = {"geometry.py", "demo.py"}  # demo data may build shapes freely


def modules():
    return sorted(PACKAGE.rglob("*.py"))


def plain_overlays(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, owner = node.func.attr, node.func.value
        owner_name = owner.id if isinstance(owner, ast.Name) else None
        is_shapely = owner_name == "shapely"
        if owner_name in ("np", "numpy", "pd"):
            continue  # numpy.clip and friends are not overlays
        if (is_shapely and name in OVERLAYS) or (not is_shapely and name in METHODS | GEOPANDAS):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}")
    return found


def test_every_overlay_goes_through_the_geometry_kernel():
    offending = [hit for p in modules() if p.name not in KERNEL for hit in plain_overlays(p)]
    assert offending == []


def test_the_check_would_see_a_plain_overlay(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import shapely\nx = shapely.union_all(a)\ny = g.intersection(h)\n")
    assert len(plain_overlays(bad)) == 2


def internal_imports(path) -> set[str]:
    """The mineland modules a module imports, at the top or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles_even_inside_functions():
    graph = {
        p.stem: internal_imports(p) - {p.stem}
        for p in modules()
        if p.parent == PACKAGE and p.stem != "__init__"
    }
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_command_line_does_not_import_heavy_libraries():
    import subprocess
    import sys

    code = (
        "import sys, mineland.cli; "
        "print(','.join(m for m in ('folium', 'matplotlib', 'rasterio', 'exactextract', 'dask') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
