"""Guard: a task's `version` must change whenever its definition does.

A task's definition hash covers the code (docstrings and comments excluded) of its class's
module, of the modules of its base classes in `tasks`, and of every `tasks` module those use,
followed transitively (shared helpers such as `extract`, `prompts`, `sources`, `vqa`). `versions.json` beside this file records (version, hash)
per task; the test suite fails when a hash changes under an unchanged version.

After bumping the versions of the tasks you changed: `python -m tasks.versions --update`.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import sys
from pathlib import Path

LOCK = Path(__file__).with_name("versions.json")
NOT_DEFINITIONS = ("tasks", "tasks.versions")  # the registry and this guard


def _code_only(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False)


def _task_modules_used(name: str) -> set[str]:
    used = set()
    for value in vars(sys.modules[name]).values():
        mod = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if isinstance(mod, str) and mod.startswith("tasks.") and mod not in NOT_DEFINITIONS:
            used.add(mod)
    return used


def definition_hash(cls: type) -> str:
    modules = {c.__module__ for c in cls.__mro__ if c.__module__.startswith("tasks.")}
    todo = list(modules)
    while todo:
        for mod in _task_modules_used(todo.pop()) - modules:
            modules.add(mod)
            todo.append(mod)
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode() + b"\0" + _code_only(inspect.getsource(sys.modules[name])).encode() + b"\n")
    return h.hexdigest()[:16]


def current() -> dict[str, dict[str, str]]:
    from tasks import TASKS

    return {name: {"version": cls.version, "definition": definition_hash(cls)} for name, cls in sorted(TASKS.items())}


def problems() -> list[str]:
    """One line per task whose definition changed without a version bump, or that is new."""
    recorded = json.loads(LOCK.read_text()) if LOCK.is_file() else {}
    out = []
    for name, now in current().items():
        old = recorded.get(name)
        if old is None:
            out.append(f"{name}: not in {LOCK.name}")
        elif old["definition"] != now["definition"] and old["version"] == now["version"]:
            out.append(f"{name}: definition changed but version is still {now['version']!r}")
    return out


def main(argv: list[str]) -> int:
    if argv == ["--update"]:
        LOCK.write_text(json.dumps(current(), indent=2) + "\n")
        print(f"wrote {LOCK}")
        return 0
    issues = problems()
    print("\n".join(issues) or "task versions match their definitions")
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
