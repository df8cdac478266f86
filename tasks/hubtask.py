"""Tasks that read real data: sources, hub-schema rows and image checks, shared by the CPT tasks
and the general benchmarks.

Sources (`data=`; see `tasks.sources` for how each is recognised): the task's hub schema from its
hub id (the default when `data` is empty; `data=OWNER/NAME` reads another hub id in the same
schema, e.g. a dataset that moved), a local copy of that dataset, or a parquet/arrow file in that
schema; and, for tasks whose answers are single strings, the paper's LLaMA-Factory JSON (with
`image_root=`) and EasyR1-style parquet.

Hub revisions: a task may pin the commit of its default hub dataset (`hub_revision`, cited where
it is set); `revision=` overrides it, for the default id or another one. Whatever is read from the
hub is recorded in results (`source`: id, revision asked for, and the commit it resolved to when
the hub could be asked), so a result names the exact data even when no revision was pinned. A task turns a hub row into the same prompt the
other sources carry (`from_hub_row`), so every source yields the same user text for an item.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from tasks.base import Sample, Task
from tasks.errors import HarnessError
from tasks.sources import (
    LazyImage, check_images, detect_source, image_table, load_easyr1, load_llamafactory_json,
    open_table, require_columns, resolved_commit, text_rows,
)


class SkipRow(Exception):
    """Raised by `from_hub_row` for a row that cannot be asked (e.g. a multiple-choice question
    without options): the row is left out and its id recorded, not fatal."""


class HubTask(Task):
    """Base of tasks that read real data. Parameters: `data` (a source; empty = the hub id),
    `revision` (a hub commit, branch or tag; empty = `hub_revision` for the default id, else
    the hub's main), `image_root` (for image paths in JSON/parquet; default: the file's folder),
    `skip_missing_images`. A subclass names its hub dataset, turns a hub row into a sample
    (`from_hub_row`) and may adjust the loaded samples (`finish`, e.g. a prompt style)."""

    hub_id: ClassVar[str | None] = None
    hub_revision: ClassVar[str | None] = None  # a pinned commit of `hub_id`; None: the hub's main
    hub_config: ClassVar[str | None] = None
    hub_splits: ClassVar[dict[str, str]] = {"test": "test"}  # our split -> the hub's split name
    hub_columns: ClassVar[tuple[str, ...]] = ()  # text columns `from_hub_row` relies on
    image_columns: ClassVar[tuple[str, ...]] = ("image",)
    sources: ClassVar[tuple[str, ...]] = ("hub", "dataset folder", "parquet", "llamafactory json", "easyr1 parquet")
    defaults: ClassVar[dict[str, Any]] = {
        "data": "",
        "revision": "",
        "image_root": "",
        "skip_missing_images": False,
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.splits = tuple(cls.hub_splits)

    def load(self, split: str) -> list[Sample]:
        self.check_split(split)
        self.split = split  # some prompts differ between splits, as in the papers' files
        self.rows_skipped: list[str] = []  # ids of rows `from_hub_row` could not ask (SkipRow)
        self.hub_sources: dict[str, dict[str, str | None]] = {}
        data = self.params["data"] or self.hub_id
        if not data:
            raise HarnessError(f"task {self.name!r} has no hub dataset; give data=PATH (LLaMA-Factory JSON or parquet)")
        root = self.params["image_root"] or None
        kind = detect_source(data)
        if kind == "llamafactory":
            samples = load_llamafactory_json(data, root)
        elif kind == "easyr1":
            samples = load_easyr1(data, root)
        else:
            samples = self.table_samples(data, kind, split)
        return self.finish(samples, split)

    def finish(self, samples: list[Sample], split: str) -> list[Sample]:
        """Last changes to loaded samples (a prompt style); the default keeps them."""
        return samples

    def table_samples(self, data: str, kind: str, split: str) -> list[Sample]:
        """Samples of a hub-schema source (hub id, dataset folder, parquet/arrow file)."""
        return self.samples_from_table(self.open_table(data, kind, self.hub_splits[split], self.hub_config), data)

    def open_table(self, data: str, kind: str, split: str, config: str | None = None) -> Any:
        """`tasks.sources.open_table` at this task's revision (hub sources only), recording what
        was read (`hub_sources`, reported by `info`)."""
        if kind != "hub":
            return open_table(data, kind, split, config)
        revision = self.params["revision"] or (self.hub_revision if data == self.hub_id else None)
        table = open_table(data, kind, split, config, revision=revision)
        sources = getattr(self, "hub_sources", {})
        if data not in sources:
            sources[data] = {"id": data, "revision": revision, "commit": resolved_commit(data, revision)}
        self.hub_sources = sources
        return table

    def info(self) -> dict[str, Any]:
        info = super().info()
        if getattr(self, "hub_sources", None):
            info["source"] = list(self.hub_sources.values())
        return info

    def samples_from_table(self, table: Any, data: str) -> list[Sample]:
        """Samples from a table in the hub schema; images stay in the table until needed."""
        require_columns(table, list(self.hub_columns), data, f"{self.hub_id or self.name} hub")
        images = image_table(table, list(self.image_columns))
        samples, seen = [], set()
        self.rows_skipped = getattr(self, "rows_skipped", [])
        for index, row in enumerate(text_rows(table, list(self.image_columns))):
            def image(column: str, position: int | None = None, index: int = index) -> LazyImage:
                return LazyImage(images, index, column, position)

            try:
                sample = self.from_hub_row(row, index, image)
            except SkipRow:
                self.rows_skipped.append(str(row.get("id", index)))
                continue
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
                raise HarnessError(f"{data}: row {index}: malformed ({type(e).__name__}: {e})") from None
            for one in sample if isinstance(sample, list) else [] if sample is None else [sample]:
                if one.id in seen:
                    raise HarnessError(f"{data}: row {index}: duplicate id {one.id!r}")
                seen.add(one.id)
                samples.append(one)
        return samples

    def from_hub_row(self, row: dict[str, Any], index: int, image: Callable[..., LazyImage]) -> Sample | list[Sample] | None:
        """The sample of one hub row (text columns in `row`; `image(column, position=None)` refers
        to an image of the row), its prompt worded as the task's other sources word it; a list when
        one row holds several samples (RefCOCO's expressions). None: the row is outside the task
        (e.g. a ScienceQA question without an image)."""
        raise HarnessError(f"task {self.name!r} has no hub schema; give data=PATH (LLaMA-Factory JSON or EasyR1 parquet)")

    def skipped_samples(self, samples: list[Sample]) -> tuple[list[Sample], dict[str, list[str]]]:
        """Samples whose images exist, and the ids left out: rows that could not be asked
        (`unaskable`), then samples with missing images (`missing_image`, only with
        skip_missing_images)."""
        missing = check_images(samples, self.params["skip_missing_images"])
        gone = set(missing)
        reasons = {"unaskable": list(getattr(self, "rows_skipped", [])), "missing_image": missing}
        return [s for s in samples if s.id not in gone], {k: v for k, v in reasons.items() if v}
