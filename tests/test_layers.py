"""The project's layers, checked on every import statement (top-level or inside a function): a
module imports only from its own layer or the layers below it, and only the command line imports
`baselines` or `leaderboard`.

    tasks ← harness (errors, files) ← harness.engine ← harness.runs ← harness.generation
          ← harness.results ← harness.eval ← harness.check ← baselines ← leaderboard ← harness.cli
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tasks", "harness", "baselines", "leaderboard")
LAYERS = [  # lowest first; a module belongs to the longest prefix that names it
    "tasks",
    "harness",
    "harness.engine",
    "harness.runs",
    "harness.generation",
    "harness.results",
    "harness.eval",
    "harness.check",
    "baselines",
    "leaderboard",
    "harness.cli",
]
ONLY_FROM_CLI = ("baselines", "leaderboard")  # besides their own modules


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    best = None
    for index, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(LAYERS[best]):
                best = index
    return best


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of a project module in the file, `from X import Y` giving
    X.Y where Y is a submodule and X otherwise."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_path = REPO / Path(*candidate.split("."))
                is_module = as_path.with_suffix(".py").is_file() or (as_path / "__init__.py").is_file()
                found.append((node.lineno, candidate if is_module else node.module))
    return [(line, module) for line, module in found if module.split(".")[0] in PACKAGES]


def _module_violations(path: Path, importer: str) -> list[str]:
    """The upward imports of one file, read as the module `importer`."""
    problems = []
    mine = _layer(importer)
    for line, target in _imports(path):
        where = f"{path.name}:{line}: {importer} imports {target}"
        top = target.split(".")[0]
        if top in ONLY_FROM_CLI and importer.split(".")[0] != top and mine != LAYERS.index("harness.cli"):
            problems.append(f"{where} (only the command line imports {top})")
        elif _layer(target) > mine:
            problems.append(f"{where} ({LAYERS[_layer(target)]} is above {LAYERS[mine]})")
    return problems


def test_no_import_runs_upward():
    problems = [p for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))
                for p in _module_violations(path, _module_name(path))]
    assert problems == []


def test_the_check_sees_an_upward_import(tmp_path):
    """The walker itself: an engine module importing the evaluator, and a library module importing
    the trainer, are both reported."""
    probe = tmp_path / "probe.py"
    probe.write_text("from harness.eval.evaluate import run_eval\n\ndef f():\n    import baselines.train\n")
    problems = _module_violations(probe, "harness.engine.probe")
    assert len(problems) == 2, problems
    assert "harness.eval is above harness.engine" in problems[0]
    assert "only the command line imports baselines" in problems[1]
