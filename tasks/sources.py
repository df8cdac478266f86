"""Where the real tasks' data comes from, and how each source is recognised.

`detect_source(data)` names the kind of a `data=` value:
- `llamafactory`: a `.json` file in LLaMA-Factory's "sharegpt" format (below);
- `easyr1`: a `.parquet` file with EasyR1's columns `problem` (user text with `<image>`
  placeholders), `answer` and optionally `images` (a list of images or of paths);
- `table`: a `.parquet` / `.arrow` file in the task's hub schema;
- `saved`: a folder written by `datasets.Dataset(Dict).save_to_disk`;
- `folder`: a local copy of a hub dataset repository (README configs, `data/SPLIT-*.parquet`);
- `hub`: a Hugging Face hub dataset id (`owner/name`), read with `datasets.load_dataset`.
`folder` and `hub` go through the same `datasets.load_dataset(data, config, split=...)` call.

Hub-schema rows keep their images inside the table; `LazyImage` points at one of them and
decodes it only when a model needs it, so scoring stored responses never reads image bytes.

LLaMA-Factory "sharegpt" JSON (the format of Paper A's released test files): a list of items
`{"messages": [{"role": "user", "content": "<image>\\n…"}, {"role": "assistant", "content": GOLD}],
"images": [REL_PATH, …]}`, optionally with `id` and other fields (kept in `meta`). Each `<image>`
placeholder in the user text is one image, in order; the text around the placeholders is kept
exactly as written (`tasks.prompts.split_at_images`). A sample's id is its `id` field when present,
else its index in the file as a string.

Images are paths, resolved against `image_root` (default: the JSON file's folder) and opened only
when a model needs them, so scoring stored responses never touches them. The release's VizWiz file
names absolute paths on its authors' machine: when `image_root` is given and a path does not exist
under it, `image_root / <file name>` is used if that exists. `check_images` finds the missing ones
before generation.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Iterator

from tasks.base import Sample
from tasks.errors import HarnessError
from tasks.prompts import IMAGE_PLACEHOLDER, easyr1_prompt, prompt_turn
from tasks.user_json import read_json


def looks_like_hub_id(text: str) -> bool:
    """`owner/name` as the Hugging Face hub writes ids (for models and datasets alike)."""
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", text)) and not text.startswith((".", "/"))


def load_llamafactory_json(path: str | Path, image_root: str | Path | None = None) -> list[Sample]:
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"data file not found: {path}")
    items = read_json(path)
    if not isinstance(items, list):
        raise HarnessError(f"{path}: expected a JSON list of LLaMA-Factory items")
    root = Path(image_root) if image_root is not None else path.parent
    samples, seen = [], set()
    for index, item in enumerate(items):
        sample = _sample_from_item(item, index, root, path)
        if image_root is not None:
            sample.images = [p if p.exists() or not (root / p.name).exists() else root / p.name for p in sample.images]
        if sample.id in seen:
            raise HarnessError(f"{path}: item {index}: duplicate id {sample.id!r}")
        seen.add(sample.id)
        samples.append(sample)
    return samples


def _sample_from_item(item: Any, index: int, root: Path, path: Path) -> Sample:
    where = f"{path}: item {index}"
    if not isinstance(item, dict) or not isinstance(item.get("messages"), list):
        raise HarnessError(f"{where}: expected an object with a 'messages' list")
    turns = item["messages"]
    users = [t for t in turns if isinstance(t, dict) and t.get("role") == "user"]
    answers = [t for t in turns if isinstance(t, dict) and t.get("role") == "assistant"]
    if not users or not answers or not isinstance(users[0].get("content"), str) or not isinstance(answers[-1].get("content"), str):
        raise HarnessError(f"{where}: needs a user turn and an assistant turn with string content")
    text = users[0]["content"]
    images = item.get("images") or []
    if not isinstance(images, list) or not all(isinstance(p, str) for p in images):
        raise HarnessError(f"{where}: 'images' must be a list of paths")
    if text.count(IMAGE_PLACEHOLDER) != len(images):
        raise HarnessError(
            f"{where}: {text.count(IMAGE_PLACEHOLDER)} {IMAGE_PLACEHOLDER} placeholders but {len(images)} images"
        )
    sid = str(item["id"]) if "id" in item else str(index)
    meta = {k: v for k, v in item.items() if k not in ("messages", "images", "id")}
    return Sample(
        id=sid,
        messages=prompt_turn(text),
        target=answers[-1]["content"],
        images=[root / p for p in images],
        meta=meta,
    )


def _image_available(image: Any) -> bool:
    if isinstance(image, Path):
        return image.is_file()
    if isinstance(image, LazyImage):
        return image.available()
    return image is not None


def check_images(samples: list[Sample], skip_missing: bool) -> list[str]:
    """Ids of samples with an image file that does not exist. With `skip_missing`, return them
    (the caller drops and records them); otherwise raise one error that counts them and names the
    first few."""
    missing = [s.id for s in samples if any(not _image_available(p) for p in s.images)]
    if missing and not skip_missing:
        first = next(p for s in samples if s.id == missing[0] for p in s.images if not _image_available(p))
        raise HarnessError(
            f"{len(missing)} of {len(samples)} samples have missing images (first: id {missing[0]}, {first}); "
            f"ids: {', '.join(missing[:5])}{', …' if len(missing) > 5 else ''}; "
            "set the image root, or skip them explicitly (skipped ids are recorded)"
        )
    return missing


def detect_source(data: str) -> str:
    """The kind of a `data=` value (see the module docstring); a clear error when it is none."""
    path = Path(data)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".json":
            return "llamafactory"
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            try:
                names = set(pq.read_schema(path).names)
            except Exception as e:  # pyarrow raises several types for a damaged file
                raise HarnessError(f"{path}: not a readable parquet file ({e})") from None
            return "easyr1" if {"problem", "answer"} <= names else "table"
        if suffix == ".arrow":
            return "table"
        raise HarnessError(f"{path}: unknown data file type (expected .json, .parquet or .arrow)")
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return "saved"
        return "folder"
    if looks_like_hub_id(data):
        return "hub"
    raise HarnessError(f"data {data!r}: no such file or folder, and not a hub dataset id (owner/name)")


def open_table(data: str, kind: str, split: str, config: str | None = None, revision: str | None = None) -> Any:
    """A `datasets.Dataset` for the `table`, `saved`, `folder` and `hub` kinds. `split` is the
    split name inside the dataset; a single-table file has no splits and ignores it. `revision`
    (hub only) is a commit, branch or tag of the hub repository."""
    import datasets

    try:
        if kind == "table":
            if data.lower().endswith(".arrow"):
                return datasets.Dataset.from_file(data)
            return datasets.Dataset.from_parquet(data)
        if kind == "saved":
            loaded = datasets.load_from_disk(data)
            if isinstance(loaded, datasets.DatasetDict):
                if split not in loaded:
                    raise HarnessError(f"{data}: no split {split!r} (splits: {', '.join(loaded)})")
                return loaded[split]
            return loaded
        if kind == "folder":
            # datasets keys its cache of a local folder by the files' mtimes, so a folder rewritten
            # in place with old mtimes would be served stale: key a cache of our own by the files'
            # identity, ctime included (set by the kernel on every write, never restored).
            cache = Path(datasets.config.HF_DATASETS_CACHE) / "cpt-harness-local" / folder_state(Path(data))
            return datasets.load_dataset(data, config, split=split, cache_dir=str(cache))
        return datasets.load_dataset(data, config, split=split, revision=revision)
    except HarnessError:
        raise
    except ValueError as e:  # unknown split or config
        raise HarnessError(f"{data}: {e}".splitlines()[0]) from None
    except FileNotFoundError as e:
        raise HarnessError(f"{data}: {e}".splitlines()[0]) from None
    except Exception as e:  # network, hub and arrow errors: one line, not a traceback
        hint = "; offline? give a local copy of the dataset as data=FOLDER" if kind == "hub" else ""
        raise HarnessError(f"{data}: cannot load ({type(e).__name__}: {e}".splitlines()[0] + f"){hint}") from None


def resolved_commit(repo_id: str, revision: str | None) -> str | None:
    """The commit a hub dataset revision (None: main) points at now, or None when the hub cannot
    be asked (offline). Recorded beside results; never needed to load."""
    try:
        from huggingface_hub import HfApi, constants

        if constants.HF_HUB_OFFLINE:
            return None
        return HfApi().dataset_info(repo_id, revision=revision, timeout=10).sha
    except Exception:  # offline, unknown id, rate limit: the record just lacks the commit
        return None


def folder_state(folder: Path) -> str:
    """A digest of every file's path, size, mtime, ctime and inode under `folder` (hidden
    folders such as `.cache` skipped): it changes whenever any file is written or replaced."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        st = path.stat()
        h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}\n".encode())
    return h.hexdigest()[:16]


class LazyImage:
    """One image inside a dataset row, decoded only when `load` is called. `position` picks an
    element of a list-of-images column."""

    def __init__(self, table: Any, index: int, column: str, position: int | None = None):
        self.table, self.index, self.column, self.position = table, index, column, position

    def raw(self) -> Any:
        """The stored cell: a dict with `bytes` / `path`, a path string, or None."""
        return self._raw()

    def _raw(self) -> Any:
        value = self.table[self.index][self.column]
        if self.position is not None:
            value = value[self.position] if value is not None and self.position < len(value) else None
        return value

    def is_null(self) -> bool:
        """True when the row holds no image here (a null cell)."""
        return self._raw() is None

    def available(self) -> bool:
        raw = self._raw()
        if isinstance(raw, str):
            return Path(raw).is_file()
        return isinstance(raw, dict) and (raw.get("bytes") is not None or bool(raw.get("path") and Path(raw["path"]).is_file()))

    def load(self) -> Any:
        from PIL import Image

        raw = self._raw()
        try:
            if isinstance(raw, str):
                return Image.open(raw)
            if isinstance(raw, dict) and raw.get("bytes") is not None:
                return Image.open(io.BytesIO(raw["bytes"]))
            if isinstance(raw, dict) and raw.get("path"):
                return Image.open(raw["path"])
        except OSError as e:
            raise HarnessError(f"cannot read image of {self}: {e}") from None
        raise HarnessError(f"missing image: {self}")

    def __repr__(self) -> str:
        where = f"[{self.position}]" if self.position is not None else ""
        return f"row {self.index} column {self.column!r}{where}"


def image_table(table: Any, columns: list[str]) -> Any:
    """`table` reduced to its image columns, with decoding switched off (for `LazyImage`)."""
    import datasets

    present = [c for c in columns if c in table.column_names]
    reduced = table.select_columns(present)
    for c in present:
        feature = reduced.features[c]
        if isinstance(feature, datasets.Image):
            reduced = reduced.cast_column(c, datasets.Image(decode=False))
        elif isinstance(getattr(feature, "feature", None), datasets.Image):
            reduced = reduced.cast_column(c, datasets.List(datasets.Image(decode=False)))
    return reduced


def text_rows(table: Any, image_columns: list[str]) -> Iterator[dict[str, Any]]:
    """The rows of `table` without their image columns (fast: no image bytes are read)."""
    drop = [c for c in image_columns if c in table.column_names]
    yield from (table.remove_columns(drop) if drop else table)


def require_columns(table: Any, columns: list[str], data: str, schema: str) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise HarnessError(
            f"{data}: missing column(s) {', '.join(missing)} of the {schema} schema "
            f"(columns: {', '.join(table.column_names)})"
        )


def load_easyr1(path: str, image_root: str | None = None) -> list[Sample]:
    """EasyR1-style parquet: `problem` (with `<image>` placeholders), `answer`, optional
    `images` (images stored in the table, or paths resolved against `image_root`, default the
    file's folder) and optional `id`. A sample's id is its `id` or its row index. A problem with
    images but no placeholder gets one in front, as EasyR1's `_build_messages` does
    (`tasks.prompts.easyr1_prompt`); the placeholders must then match the images."""
    table = open_table(path, "table", "train")
    require_columns(table, ["problem", "answer"], path, "EasyR1 (problem, answer, images)")
    root = Path(image_root) if image_root else Path(path).parent
    images = image_table(table, ["images"]) if "images" in table.column_names else None
    samples, seen = [], set()
    for index, row in enumerate(text_rows(table, ["images"])):
        where = f"{path}: row {index}"
        if not isinstance(row["problem"], str) or row["answer"] is None:
            raise HarnessError(f"{where}: 'problem' must be text and 'answer' present")
        refs: list[Any] = []
        if images is not None:
            raw = images[index]["images"] or []
            refs = [root / r if isinstance(r, str) else LazyImage(images, index, "images", k) for k, r in enumerate(raw)]
        problem = easyr1_prompt(row["problem"], bool(refs), None)
        n = problem.count(IMAGE_PLACEHOLDER)
        if n != len(refs):
            raise HarnessError(f"{where}: {n} {IMAGE_PLACEHOLDER} placeholders but {len(refs)} images")
        sid = str(row["id"]) if row.get("id") is not None else str(index)
        if sid in seen:
            raise HarnessError(f"{where}: duplicate id {sid!r}")
        seen.add(sid)
        meta = {k: v for k, v in row.items() if k not in ("problem", "answer", "id")}
        samples.append(Sample(sid, prompt_turn(problem), str(row["answer"]), refs, meta))
    return samples
