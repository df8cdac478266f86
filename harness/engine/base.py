"""The backend interface and what every backend shares."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from PIL import Image

from harness.errors import HarnessError
from tasks.base import GenerationContract


@dataclass
class Request:
    """One prompt: chat `messages` whose image parts refer to `images` in order; `seed` drives
    this request's sampling alone. `prompt`, when given, is the exact model input text (already
    templated, e.g. by lm-eval) and replaces `messages` (text-only; hf backend)."""

    id: str
    messages: list[dict[str, Any]]
    images: list[Any] = field(default_factory=list)
    seed: int = 0
    prompt: str | None = None

    @classmethod
    def for_sample(cls, sample: Any, task: str, base_seed: int, request_id: str | None = None) -> "Request":
        """The request that generates a task's `sample` (a `tasks.Sample`) for column `task`:
        id `request_id` (default: the sample's id), seeded by (base seed, task, that id)."""
        rid = sample.id if request_id is None else request_id
        return cls(rid, sample.messages, sample.images, request_seed(base_seed, task, rid))


class Backend(ABC):
    name: str = "?"

    @abstractmethod
    def generate(self, requests: list[Request], contract: GenerationContract) -> Iterator[list[tuple[Request, str]]]:
        """Yield lists of (request, response) as batches finish; every request exactly once."""

    def pop_truncated(self) -> list[str]:
        """Ids of requests whose reply a server cut at its own token limit since the last call
        (the openai backend); local backends stop at the contract's limit and report none."""
        return []

    def close(self) -> None:
        """Free the model (and its accelerator memory)."""


def request_seed(base_seed: int, task: str, sample_id: str) -> int:
    """A 63-bit seed for one sample, independent of order and batching."""
    digest = hashlib.sha256(f"{base_seed}\0{task}\0{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def prepare_images(images: list[Any], min_pixels: int | None = None, max_pixels: int | None = None) -> list[Image.Image]:
    """Open paths and dataset images, then apply the contract's area bounds and convert to RGB the
    way Paper A's code does (`tasks.images.bound_image`), before any processor sees them."""
    from tasks.images import bound_image

    out = []
    for img in images:
        if callable(getattr(img, "load", None)) and not isinstance(img, Image.Image):  # tasks.sources.LazyImage
            img = img.load()
        if not isinstance(img, Image.Image):
            path = Path(img)
            if not path.is_file():
                raise HarnessError(f"image not found: {path}")
            try:
                img = Image.open(path)
                img.load()
            except OSError as e:
                raise HarnessError(f"cannot read image {path}: {e}") from None
        out.append(bound_image(img, min_pixels, max_pixels))
    return out


def contract_images(images: list[Any], contract: GenerationContract) -> list[Image.Image]:
    """`prepare_images` with the contract's bounds."""
    return prepare_images(images, contract.min_pixels, contract.max_pixels)


def sampling_parameters(contract: GenerationContract, seed: int) -> dict[str, Any]:
    """Every decoding value of one request, named as vLLM's `SamplingParams` and the OpenAI API
    name them; every backend sends all of them, so a checkpoint's `generation_config.json` (or a
    server's defaults drawn from it) decides none. `top_k` -1 is off; the seed drives this
    request's sampling alone (greedy contracts ignore it)."""
    return {
        "max_tokens": contract.max_new_tokens,
        "temperature": contract.temperature,
        "top_p": contract.top_p,
        "top_k": contract.top_k,
        "repetition_penalty": contract.repetition_penalty,
        "min_p": 0.0,  # no contract asks for it; sent so that no server default applies
        "stop": list(contract.stop),
        "seed": seed,
    }


def text_of(content: Any) -> str:
    """A message's text: the string itself, or its text parts joined with nothing between (how a
    text-only model sees a message whose image parts it cannot take)."""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if p.get("type") == "text")


def chat_messages(req: Request, images: list[Image.Image], image_part: Any = None) -> list[dict[str, Any]]:
    """A request's messages in the OpenAI chat layout. With `image_part` None every message's
    content is its text (`text_of`); otherwise list contents keep their order and each image part
    becomes `image_part(image)` for the next of `images`, whose count must match the parts."""
    if image_part is None:
        return [{"role": m["role"], "content": text_of(m["content"])} for m in req.messages]
    pending = iter(images)
    messages = []
    for message in req.messages:
        content = message["content"]
        if isinstance(content, str):
            messages.append({"role": message["role"], "content": content})
            continue
        parts = []
        for part in content:
            if part.get("type") == "image":
                image = next(pending, None)
                if image is None:
                    raise HarnessError(f"sample {req.id}: more image placeholders than images")
                parts.append(image_part(image))
            elif part.get("type") == "text":
                parts.append({"type": "text", "text": part["text"]})
        messages.append({"role": message["role"], "content": parts})
    if next(pending, None) is not None:
        raise HarnessError(f"sample {req.id}: more images than image placeholders")
    return messages


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """The text before the first occurrence of any stop string."""
    cut = len(text)
    for s in stop:
        i = text.find(s)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]
