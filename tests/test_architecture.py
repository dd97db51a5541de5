"""The layout rules that keep the package readable: one overlay kernel, no cycles,
short modules and functions, no private names imported across modules."""

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


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(path, node: ast.ImportFrom) -> list[str]:
    """The mineland modules an import statement loads (a package means its __init__)."""
    if node.level == 0:
        base = node.module or ""
        if not base.startswith("mineland"):
            return []
    else:
        package = module_name(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    found = []
    for alias in node.names if not node.module else [None]:
        name = f"{base}.{alias.name}" if alias else base
        target = ROOT.joinpath(*name.split("."))
        if target.with_suffix(".py").is_file() or (target / "__init__.py").is_file():
            found.append(name)
        else:
            found.append(base)
    return found


def internal_imports(path) -> set[str]:
    """The mineland modules a module imports, at the top or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.update(_resolve(path, node))
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
    graph = {module_name(p): internal_imports(p) - {module_name(p)} for p in modules()}
    graph["mineland"] -= set(graph)  # the package's own exports load its modules
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_command_line_does_not_import_heavy_libraries():
    import subprocess
    import sys

    heavy = ("folium", "matplotlib", "rasterio", "exactextract", "dask", "affine")
    code = f"import sys, mineland.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def long_functions(source: str) -> list[str]:
    return [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_no_function_is_longer_than_a_screen_or_two():
    found = [f"{module_name(p)}.{hit}" for p in modules() for hit in long_functions(p.read_text())]
    assert found == []


def test_the_length_check_would_see_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n    return 0\n") == [
        f"f: {MAX_FUNCTION_LINES + 2} lines"
    ]
    assert long_functions("def g():\n    return 0\n") == []


def test_no_module_is_longer_than_a_sitting():
    lengths = {module_name(p): len(p.read_text().splitlines()) for p in modules()}
    assert {m: n for m, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def private_imports(path) -> list[str]:
    """Names starting with an underscore imported from another mineland module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{module_name(path)} imports {alias.name} from {node.module or '.'}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.level or "mineland" in (node.module or ""))
        for alias in node.names
        if alias.name.startswith("_") and alias.name != "__version__"
    ]


def test_no_private_name_is_imported_across_modules():
    assert [hit for p in modules() for hit in private_imports(p)] == []


#: calls that read or write files
FILE_CALLS = {
    "open",
    "read_text",
    "write_text",
    "read_bytes",
    "write_bytes",
    "to_file",
    "to_csv",
    "to_parquet",
    "to_excel",
    "read_file",
    "read_csv",
    "read_dataframe",
    "write_dataframe",
}
#: where files may be touched: the io package, the demo-data generator, and package
#: data read-only (the map's scripts, the default prioritisation profile); and an
#: in-memory PNG
TOUCHES_FILES = (
    "mineland.io",
    "mineland.demo",
    "mineland.mapping._offline",
    "mineland.priorities",
)
IN_MEMORY = {"mineland.mapping._density"}


def file_calls(path) -> list[str]:
    return [f"{module_name(path)}:{hit}" for hit in file_calls_of(path.read_text("utf-8"))]


def file_calls_of(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func  # a method (df.to_csv) or the builtin open; io's own functions
        if (isinstance(func, ast.Attribute) and func.attr in FILE_CALLS) or (
            isinstance(func, ast.Name) and func.id == "open"
        ):
            found.append(f"{node.lineno} {ast.unparse(func)}")
    return found


def test_the_file_check_would_see_a_write(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(df, p):\n    df.to_csv(p)\n    return open(p).read()\n")
    assert len([n for n in ast.walk(ast.parse(bad.read_text())) if isinstance(n, ast.Call)]) >= 3
    assert len(file_calls_of(bad.read_text())) == 2


def test_only_the_io_package_touches_files():
    pure = [
        p
        for p in modules()
        if not module_name(p).startswith(TOUCHES_FILES) and module_name(p) not in IN_MEMORY
    ]
    assert [hit for p in pure for hit in file_calls(p)] == []
