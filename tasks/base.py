"""The task contract: Sample, Score, GenerationContract and the Task base class.

A task is a loader, a prompt, a generation contract and a scorer. Scoring is a pure function of
the response text and the sample, so stored generations can be re-scored without a model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from tasks.errors import HarnessError


@dataclass(frozen=True)
class GenerationContract:
    """How a task's responses are generated, identically on every backend.

    `stop` strings end a response and are cut from it; `max_pixels` caps each image's area
    (images are downscaled, aspect kept, before any processor sees them).
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    max_pixels: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass
class Sample:
    """One test or train item.

    `messages` are chat turns whose content is a list of parts: `{"type": "image"}` (the images
    of `images`, in order) and `{"type": "text", "text": ...}`. `images` holds PIL images or
    paths; they are only opened when a model needs them.
    """

    id: str
    messages: list[dict[str, Any]]
    target: Any
    images: list[Any] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Score:
    """`value` in [0, 1]; `extracted` is the answer read from the response (None when nothing
    parsed); `valid` is False when the response held no parseable answer (it then scores 0 and
    counts towards the invalid rate); `parts` holds named components such as `acc` and `fmt`."""

    value: float
    extracted: str | None
    valid: bool
    parts: dict[str, float] = field(default_factory=dict)


def stable_hash(obj: Any, n: int = 16) -> str:
    """Hex digest of a JSON-serialisable object, independent of dict order."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


class Task:
    """Base class. A subclass sets the class attributes, `defaults` (its parameters) and
    implements `load`, `contract` and `score`.

    A task instance is a family plus parameter values, written as a spec string:
    `jigsaw:grid=3,mode=tiles`. Parameters left at their defaults are omitted from the
    canonical spec, so `jigsaw` and `jigsaw:grid=2` name the same instance.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str]
    metric: ClassVar[str] = "accuracy"
    sources: ClassVar[tuple[str, ...]] = ("procedural",)
    prompt_styles: ClassVar[tuple[str, ...]] = ("cot", "direct")
    protocols: ClassVar[tuple[str, ...]] = ("default",)  # named scoring rules; the first is used
    splits: ClassVar[tuple[str, ...]] = ("train", "test")
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any):
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise HarnessError(
                f"task {self.name!r} has no parameter {unknown[0]!r} "
                f"(parameters: {', '.join(sorted(self.defaults)) or 'none'})"
            )
        self.params = {**self.defaults}
        for key, value in params.items():
            self.params[key] = _coerce(self.name, key, value, self.defaults[key])
        style = self.params.get("style")
        if style is not None and style not in self.prompt_styles:
            raise HarnessError(
                f"task {self.name!r} has no prompt style {style!r} "
                f"(styles: {', '.join(self.prompt_styles)})"
            )
        self.validate()

    def validate(self) -> None:
        """Check parameter values; raise HarnessError with a one-line message."""

    @property
    def spec(self) -> str:
        changed = {k: v for k, v in self.params.items() if v != self.defaults[k]}
        if not changed:
            return self.name
        return self.name + ":" + ",".join(f"{k}={changed[k]}" for k in sorted(changed))

    @property
    def style(self) -> str | None:
        return self.params.get("style")

    def load(self, split: str) -> list[Sample]:
        raise NotImplementedError

    def contract(self) -> GenerationContract:
        raise NotImplementedError

    def loadable_for_generation(self, samples: list[Sample]) -> tuple[list[Sample], list[str]]:
        """(samples a model can be given, ids skipped). Tasks whose images live on disk check
        them here; a missing image is an error unless the task was told to skip such samples."""
        return samples, []

    def score(self, response: str, sample: Sample) -> Score:
        raise NotImplementedError

    def score_as(self, protocol: str | None, response: str, sample: Sample) -> Score:
        """Score under a named protocol: the first of `protocols` is `score`, any other name P is
        the method `score_P`. None means the first."""
        if protocol is None or protocol == self.protocols[0]:
            return self.score(response, sample)
        if protocol not in self.protocols:
            raise HarnessError(
                f"task {self.name!r} has no protocol {protocol!r} (protocols: {', '.join(self.protocols)})"
            )
        return getattr(self, f"score_{protocol}")(response, sample)

    def check_protocol(self, protocol: str, samples: list[Sample]) -> None:
        """Raise a one-line HarnessError when `protocol` cannot score these samples (e.g. an
        official metric that needs data the source lacks). Called before any generation."""

    def rollout_correct(self, response: str, sample: Sample, score: Score | None = None) -> bool:
        """Whether a rollout counts as correct for RIF's filter: Paper A's `rollout_filter.py`
        requires the `<think>…</think> \\boxed{…}` shape (`tasks.extract.rollout_filter_answer`)
        besides a right answer; here the answer is judged by the task's scorer (`score`, when the
        caller has it already)."""
        from tasks.extract import rollout_filter_answer

        if rollout_filter_answer(response) is None:
            return False
        score = score or self.score(response, sample)
        return score.parts.get("acc", score.value) >= 1.0

    def summary_metrics(self, scores: list[Score]) -> dict[str, float]:
        """Metrics over the whole test set beside mean accuracy (e.g. POPE's F1), in percent."""
        return {}

    def reward(self, response: str, sample: Sample) -> float:
        """Training reward, built from `score` (one source of truth): `reward_of(score(...))`."""
        return self.reward_of(self.score(response, sample))

    def reward_of(self, s: Score) -> float:
        """The training reward of a score. Paper A's rule by default: 0.9 * accuracy + 0.1 *
        format in the think/boxed styles (`cot`; `paper` for the CPT tasks), accuracy alone
        otherwise."""
        if self.style in ("cot", "paper"):
            return 0.9 * s.parts.get("acc", s.value) + 0.1 * s.parts.get("fmt", 0.0)
        return s.parts.get("acc", s.value)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.spec,
            "family": self.name,
            "version": self.version,
            "metric": self.metric,
            "params": dict(self.params),
            "contract": self.contract().to_dict(),
        }

    def check_split(self, split: str) -> None:
        if split not in self.splits:
            raise HarnessError(
                f"task {self.spec!r} has no {split!r} split (splits: {', '.join(self.splits)})"
            )


def _coerce(task: str, key: str, value: Any, default: Any) -> Any:
    """Parameters arrive as strings from specs; convert to the default's type."""
    if not isinstance(value, str) or isinstance(default, str):
        return value
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes"):
                return True
            if value.lower() in ("0", "false", "no"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        raise HarnessError(
            f"task {task!r}: parameter {key}={value!r} is not a {type(default).__name__}"
        ) from None
    return value
