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

BACKENDS = ("hf", "vllm", "openai")


def backend_identity(name: str, **options) -> str:
    """What, beside the contract, decides a backend's numerics, known before any model loads:
    for `hf`, the dtype it will use on this machine (bf16 on a GPU, fp32 on CPU) and, in its
    `padded` batching, the batch size (padding can move a near-tie). Part of the store key, so
    CPU and GPU generations, or two batchings, are never mixed."""
    if name == "hf":
        from harness.engine.hf import BATCHING, default_device_and_dtype

        batching = options.get("batching", "padded")
        if batching not in BATCHING:
            raise HarnessError(f"unknown batching {batching!r} (choose from: {', '.join(BATCHING)})")
        dtype = default_device_and_dtype()[1]
        return f"hf:{dtype}" if batching == "exact" else f"hf:{dtype}:padded{int(options.get('batch_size', 8))}"
    if name == "vllm":
        from harness.engine.vllm import vllm_identity

        return vllm_identity()
    if name == "openai":
        # Any OpenAI-compatible server of the same checkpoint (the store key holds its
        # fingerprint) shares this identity; keep servers with other numerics in another --store.
        return "openai"
    raise HarnessError(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})")


def open_backend(name: str, model_path: str, **options) -> Backend:
    """The backend `name` on one checkpoint; options a backend does not take are ignored."""
    if name == "hf":
        from harness.engine.hf import HFBackend

        return HFBackend(model_path, batch_size=options.get("batch_size", 8), batching=options.get("batching", "padded"))
    if name == "vllm":
        from harness.engine.vllm import VLLMBackend

        return VLLMBackend(model_path, **options)
    if name == "openai":
        from harness.engine.openai_api import OpenAIBackend

        return OpenAIBackend(model_path, **options)
    raise HarnessError(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})")


__all__ = ["Backend", "Request", "prepare_images", "open_backend", "backend_identity", "BACKENDS"]
