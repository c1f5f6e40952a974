"""The package's shape: stages import one way, and only the modules that run Spark jobs load pyspark."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "forecaster"

#: The stages in data-flow order; a module may import its own stage, the base and the stages before it.
STAGES = ("data", "prepare", "model", "evaluate", "jobs")
#: Modules every stage may use: they import no stage themselves.
BASE = {
    "forecaster",
    "forecaster.columns",
    "forecaster.config",
    "forecaster.errors",
    "forecaster.artifacts",
    "forecaster.left_out",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every forecaster or dashboard module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("forecaster", "dashboard")}


def _rank(module: str) -> int:
    """-1 for the base, the stage's index, len(STAGES) for the command line, one more for the dashboard."""
    parts = module.split(".")
    if parts[0] == "dashboard":
        return len(STAGES) + 1
    if module in BASE or len(parts) == 1:
        return -1
    if parts[1] in STAGES:
        return STAGES.index(parts[1])
    return len(STAGES)  # forecaster.cli, forecaster.__main__


def _known(module: str) -> bool:
    """Imports name modules and, with ``from x import y``, also ``x.y`` that may be a function: keep modules."""
    relative = Path(*module.split("."))
    return (ROOT / relative).is_dir() or (ROOT / relative.with_suffix(".py")).is_file()


@pytest.mark.parametrize(
    "path",
    sorted([*PACKAGE.rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_imports_run_one_way(path):
    module = _module_name(path)
    upward = sorted(name for name in _imports(path) if _known(name) and _rank(name) > _rank(module))
    assert not upward, f"{module} (rank {_rank(module)}) imports a later stage: {upward}"


def test_the_dashboard_never_imports_the_command_line_or_a_job():
    """Pages only read artifacts; the one door to the jobs is ``dashboard/jobs.py``, whose work runs in background
    callbacks (another process), and it imports them inside the functions that run there."""
    for path in (ROOT / "dashboard").rglob("*.py"):
        found = {n for n in _imports(path) if n.startswith(("forecaster.cli", "forecaster.jobs"))}
        if path.name == "jobs.py":
            top = {
                n
                for node in ast.parse(path.read_text(encoding="utf-8")).body
                if isinstance(node, ast.ImportFrom) and node.module
                for n in [node.module]
            }
            assert not {n for n in top if n.startswith(("forecaster.cli", "forecaster.jobs"))}, path
            continue
        assert not found, path
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, dashboard.app; print(any(m.startswith('forecaster.jobs') for m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.stdout.strip() == "False", done.stderr[-2000:]


@pytest.mark.parametrize(
    "module",
    [
        "forecaster.model.network",
        "forecaster.model.training",
        "forecaster.model.intervals",
        "forecaster.evaluate.report",
        "forecaster.evaluate.backtest",
        "forecaster.prepare.windows",
        "forecaster.data.ingest",
        "forecaster.cli",
        "dashboard.app",
    ],
)
def test_modules_that_run_no_spark_job_never_load_pyspark(module):
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print('pyspark' in sys.modules)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False", f"importing {module} loads pyspark"


def test_the_command_lines_feature_list_is_the_preparations():
    from forecaster.columns import FEATURE_NAMES
    from forecaster.prepare.table import FEATURES

    assert tuple(FEATURES) == FEATURE_NAMES


def test_every_stage_is_a_folder_a_newcomer_sees():
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(STAGES)
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").read_text().startswith(f'"""Stage {STAGES.index(stage) + 1}')


def test_the_archive_shipped_to_the_executors_holds_every_module(tmp_path):
    import zipfile

    from forecaster.prepare.session import package_archive

    names = set(zipfile.ZipFile(package_archive(tmp_path)).namelist())
    expected = {str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")}
    assert names == expected and "forecaster/model/scoring.py" in names


def _import_graph() -> dict[str, set[str]]:
    """Each module of the package and the dashboard -> the modules it imports (at the top or in a function)."""
    paths = [*PACKAGE.rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")]
    modules = {_module_name(p): p for p in paths}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``graph``: each as the modules around it, found by a depth-first walk."""
    found, state, trail = [], {}, []

    def walk(module: str) -> None:
        state[module] = "open"
        trail.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                found.append([*trail[trail.index(imported) :], imported])
            elif imported not in state:
                walk(imported)
        trail.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module)
    return found


def test_no_module_imports_itself_round_a_circle():
    """A circle makes what a module holds depend on which of its modules was imported first; it is refused
    even where a function-level import keeps it from failing today."""
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]  # the check works
    circles = _circles(_import_graph())
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)
