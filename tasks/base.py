"""The task contract: Sample, Score, GenerationContract and the Task base class.

A task is a loader, a prompt, a generation contract and a scorer. Scoring is a pure function of
the response text and the sample, so stored generations can be re-scored without a model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar

from tasks.errors import HarnessError


@dataclass(frozen=True)
class GenerationContract:
    """How a task's responses are generated, identically on every backend, every value sent
    explicitly (a checkpoint's `generation_config.json` never decides any of them).

    `temperature` 0 is greedy; `top_k` -1 and `top_p` 1.0 filter nothing; `repetition_penalty`
    1.0 is none. `stop` strings end a response and are cut from it. `min_pixels` / `max_pixels`
    bound each image's area before any processor sees it (`tasks.images.bound_image`, EasyR1's
    rule); None applies no bound.
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = -1
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()
    min_pixels: int | None = None
    max_pixels: int | None = None

    def __post_init__(self) -> None:
        problems = [
            (self.max_new_tokens < 1, "max_new_tokens must be at least 1"),
            (self.temperature < 0, "temperature must not be negative"),
            (not 0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (self.top_k != -1 and self.top_k < 1, "top_k must be -1 (off) or at least 1"),
            (self.repetition_penalty <= 0, "repetition_penalty must be positive"),
            (bool(self.min_pixels and self.max_pixels and self.min_pixels > self.max_pixels),
             f"min_pixels ({self.min_pixels}) must not exceed max_pixels ({self.max_pixels})"),
        ]
        for bad, message in problems:
            if bad:
                raise HarnessError(f"generation contract: {message}")

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


# Parameters every task that shows images takes (`Task.takes_images`): bounds on each image's area,
# applied before any processor sees it. -1 keeps the style's own bounds, 0 removes a bound.
IMAGE_BOUND_PARAMS: dict[str, int] = {"image_min_pixels": -1, "image_max_pixels": -1}
SKIP_REASONS = ("unaskable", "missing_image", "prompt_too_long")
# Parameters that say how a task is evaluated, not which items it holds.
EVAL_PARAMS = ("style", *IMAGE_BOUND_PARAMS)


class Task:
    """Base class. A subclass sets the class attributes, `defaults` (its parameters) and
    implements `load`, `default_contract` and `score`.

    A task instance is a family plus parameter values, written as a spec string:
    `jigsaw:grid=3,mode=tiles`. Parameters left at their defaults are omitted from the
    canonical spec, so `jigsaw` and `jigsaw:grid=2` name the same instance. Tasks that show
    images also take `image_min_pixels` / `image_max_pixels` (`IMAGE_BOUND_PARAMS`).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str]
    metric: ClassVar[str] = "accuracy"
    sources: ClassVar[tuple[str, ...]] = ("procedural",)
    prompt_styles: ClassVar[tuple[str, ...]] = ("cot", "direct")
    protocols: ClassVar[tuple[str, ...]] = ("default",)  # named scoring rules; `default_protocol` picks one
    splits: ClassVar[tuple[str, ...]] = ("train", "test")
    takes_images: ClassVar[bool] = True
    defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.takes_images:
            cls.defaults = {**cls.defaults, **{k: v for k, v in IMAGE_BOUND_PARAMS.items() if k not in cls.defaults}}
        else:  # a text-only task inherits no image bounds from a base class
            cls.defaults = {k: v for k, v in cls.defaults.items() if k not in IMAGE_BOUND_PARAMS}

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
        for key in IMAGE_BOUND_PARAMS:
            if key in self.params and self.params[key] < -1:
                raise HarnessError(f"task {self.name!r}: {key} must be -1 (the style's), 0 (none) or a pixel count")
        self.validate()
        try:
            self.contract()  # bounds that contradict each other fail here, before any work
        except HarnessError as e:
            raise HarnessError(f"task {self.spec!r}: {e}") from None

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

    def same_items(self, other: "Task") -> bool:
        """Whether `other` is this task with at most other evaluation parameters (`EVAL_PARAMS`)."""
        def items(task: Task) -> dict[str, Any]:
            return {k: v for k, v in task.params.items() if k not in EVAL_PARAMS}

        return self.name == other.name and items(self) == items(other)

    def with_params(self, **params: Any) -> "Task":
        """This task with some parameters changed."""
        return type(self)(**{**self.params, **params})

    @property
    def preset(self) -> Any:
        """The named evaluation preset (`tasks.presets.EvalPreset`) this task follows in its
        style, or None (the harness's own settings)."""
        return None

    def load(self, split: str) -> list[Sample]:
        raise NotImplementedError

    def default_contract(self) -> GenerationContract:
        """The style's generation contract, before the image-bound parameters."""
        raise NotImplementedError

    def contract(self) -> GenerationContract:
        """The generation contract: `default_contract` with `image_min_pixels` /
        `image_max_pixels` applied where given (-1 keeps the style's bound, 0 removes it)."""
        contract = self.default_contract()
        bounds = {}
        for param, field_name in (("image_min_pixels", "min_pixels"), ("image_max_pixels", "max_pixels")):
            value = self.params.get(param, -1)
            if value != -1:
                bounds[field_name] = value or None
        return replace(contract, **bounds) if bounds else contract

    def skipped_samples(self, samples: list[Sample]) -> tuple[list[Sample], dict[str, list[str]]]:
        """(samples a model can be given, ids left out by reason: `unaskable` rows, samples with a
        `missing_image`). Tasks whose images live on disk check them here; a missing image is an
        error unless the task was told to skip such samples."""
        return samples, {}

    def loadable_for_generation(self, samples: list[Sample]) -> tuple[list[Sample], list[str]]:
        """(samples a model can be given, every id left out), as training uses them."""
        kept, reasons = self.skipped_samples(samples)
        return kept, [sid for ids in reasons.values() for sid in ids]

    def overlong_ids(self, samples: list[Sample]) -> list[str]:
        """Ids of the samples whose prompt, rendered with the preset's chat template, is longer
        than the preset allows (`tasks.presets`); none without a preset bound."""
        preset = self.preset
        if preset is None or not preset.max_prompt_chars:
            return []
        from tasks.presets import render_prompt

        return [s.id for s in samples if len(render_prompt(s.messages, preset.chat_template)) > preset.max_prompt_chars]

    def eval_samples(self, samples: list[Sample]) -> tuple[list[Sample], dict[str, list[str]]]:
        """What an evaluation generates for: `skipped_samples`, then the `overlong_ids` left out as
        `prompt_too_long`. Reasons come in `SKIP_REASONS` order."""
        kept, reasons = self.skipped_samples(samples)
        long = self.overlong_ids(kept)
        if long:
            gone = set(long)
            reasons = {**reasons, "prompt_too_long": long}
            kept = [s for s in kept if s.id not in gone]
        return kept, {r: reasons[r] for r in SKIP_REASONS if reasons.get(r)}

    def default_protocol(self) -> str:
        """The protocol used when none is named: the first of `protocols`."""
        return self.protocols[0]

    def available_protocols(self) -> tuple[str, ...]:
        """The protocols that can score this task in its style (all of `protocols` by default)."""
        return self.protocols

    def score(self, response: str, sample: Sample) -> Score:
        raise NotImplementedError

    def score_as(self, protocol: str | None, response: str, sample: Sample) -> Score:
        """Score under a named protocol: the first of `protocols` is `score`, any other name P is
        the method `score_P`. None means `default_protocol()`."""
        protocol = protocol or self.default_protocol()
        if protocol == self.protocols[0]:
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
        score = score or self.score_as(None, response, sample)
        return score.parts.get("acc", score.value) >= 1.0

    def summary_metrics(self, scores: list[Score]) -> dict[str, float]:
        """Metrics over the whole test set beside mean accuracy (e.g. POPE's F1), in percent."""
        return {}

    def reward(self, response: str, sample: Sample) -> float:
        """Training reward, built from the default protocol's score (one source of truth)."""
        return self.reward_of(self.score_as(None, response, sample))

    def reward_of(self, s: Score) -> float:
        """The training reward of a score. Paper A's rule by default: 0.9 * accuracy + 0.1 *
        format in the think/boxed styles (`cot`; `paper` for the CPT tasks), accuracy alone
        otherwise."""
        if self.style in ("cot", "paper"):
            return 0.9 * s.parts.get("acc", s.value) + 0.1 * s.parts.get("fmt", 0.0)
        return s.parts.get("acc", s.value)

    def info(self) -> dict[str, Any]:
        preset = self.preset
        return {
            "name": self.spec,
            "family": self.name,
            "version": self.version,
            "metric": self.metric,
            "params": dict(self.params),
            "style": self.style,
            "preset": preset.name if preset is not None else None,
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
