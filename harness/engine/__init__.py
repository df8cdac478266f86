"""Generation backends behind one interface.

A backend is opened once per checkpoint and takes whole request lists per call (what vLLM
wants); it yields finished batches so the caller can store them as they come. Every backend
applies the task's generation contract the same way: images are downscaled to the contract's
pixel budget before any processor sees them, responses are cut at the first stop string, and
sampling is seeded per request, so a response never depends on batch size or batch company.
"""

from __future__ import annotations

from harness.engine.base import Backend, Request, prepare_images
from harness.errors import HarnessError

BACKENDS = ("hf",)


def open_backend(name: str, model_path: str, **options) -> Backend:
    if name == "hf":
        from harness.engine.hf import HFBackend

        return HFBackend(model_path, **options)
    raise HarnessError(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})")


__all__ = ["Backend", "Request", "prepare_images", "open_backend", "BACKENDS"]
