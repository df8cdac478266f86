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


def backend_identity(name: str) -> str:
    """What, beside the contract, decides a backend's numerics, known before any model loads:
    for `hf`, the dtype it will use on this machine (bf16 on a GPU, fp32 on CPU). Part of the
    store key, so CPU and GPU generations are never mixed."""
    if name == "hf":
        from harness.engine.hf import default_device_and_dtype

        return f"hf:{default_device_and_dtype()[1]}"
    raise HarnessError(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})")


def open_backend(name: str, model_path: str, **options) -> Backend:
    if name == "hf":
        from harness.engine.hf import HFBackend

        return HFBackend(model_path, **options)
    raise HarnessError(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})")


__all__ = ["Backend", "Request", "prepare_images", "open_backend", "backend_identity", "BACKENDS"]
