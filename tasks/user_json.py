"""The one reader of JSON that users hand in: manifests, checkpoint configs, data files, response
files, bundles, the store. It lives in the bottom layer because task data files are read here too.

Python's `json` accepts more than JSON and fails in more ways than `ValueError`; this reader
turns every failure into one `HarnessError` line that names the file (and the line, for JSON
lines) and refuses:
- bytes that are not UTF-8, text that is not JSON (json's message, with its line and column);
- `NaN`, `Infinity` and `-Infinity`, which Python writes and reads but JSON does not have;
- a key twice in one object: two parsers could read two different values (Python keeps the
  last, others the first);
- nesting deeper than `MAX_DEPTH`: Python's parser raises `RecursionError` near 1,000 levels,
  and any code that walks the value recursively would crash on less;
- a file over its size cap, before reading it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from tasks.errors import HarnessError

MAX_DEPTH = 64  # nested arrays and objects; every file the harness writes stays under 10
DEFAULT_MAX_BYTES = 1 << 30  # a data file; callers reading configs or bundles pass smaller caps


class InvalidJSON(ValueError):
    """What `parse` refuses, with the reason (one line, no file name)."""


def _refuse_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidJSON(f"key {key[:80]!r} appears twice in one object")
            seen.add(key)
    return out


def _too_deep(value: Any) -> bool:
    """Whether `value` nests arrays and objects deeper than MAX_DEPTH (walked with a stack, so a
    deep value cannot exhaust Python's)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def parse(text: str | bytes) -> Any:
    """`text` parsed under the rules above; anything refused raises `InvalidJSON` with the reason."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except InvalidJSON:  # the hooks' refusals
        raise
    except UnicodeDecodeError as e:
        raise InvalidJSON(f"not UTF-8 (byte {e.start})") from None
    except RecursionError:
        raise InvalidJSON(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:  # json.JSONDecodeError is one
        raise InvalidJSON(f"not valid JSON ({str(e).splitlines()[0][:200]})") from None
    if _too_deep(value):
        raise InvalidJSON(f"nested deeper than {MAX_DEPTH} levels")
    return value


def loads(text: str | bytes, where: str) -> Any:
    """`parse`, with a refusal as one HarnessError line that starts with `where` (a file, or
    file:line)."""
    try:
        return parse(text)
    except InvalidJSON as e:
        raise HarnessError(f"{where}: {e}") from None


def read_json(path: str | Path, where: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The JSON file at `path`, at most `max_bytes` long. `where` names it in errors (default:
    the path)."""
    path = Path(path)
    where = where or str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise HarnessError(f"{where}: {size:,} bytes, over the {max_bytes:,}-byte limit for this file")
        data = path.read_bytes()
    except OSError as e:
        raise HarnessError(f"{where}: cannot read ({e.strerror or type(e).__name__})") from None
    return loads(data, where)


def json_lines(path: str | Path, where: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of the JSON-lines file at `path`; an error
    names the file and the line."""
    path = Path(path)
    where = where or str(path)
    try:
        with open(path, "rb") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield number, loads(line, f"{where}:{number}")
    except OSError as e:
        raise HarnessError(f"{where}: cannot read ({e.strerror or type(e).__name__})") from None
