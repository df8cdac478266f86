"""Qwen2.5-VL image processing without torchvision, for vLLM builds that cannot have it (vLLM's
CPU build pins a torch that PyPI's torchvision does not import beside).

Two modules need torchvision: transformers' `models/qwen2_vl/image_processing_qwen2_vl.py` (the
torchvision image backend, which a release folder's `preprocessor_config.json` names and vLLM
imports for `smart_resize`) and the stock `Qwen2_5_VLProcessor` (for its video processor). `install()`
puts an import hook in front of both, in this process: the first resolves to transformers' own
PIL backend module (`image_processing_pil_qwen2_vl`: the same `smart_resize`) with, under the
torchvision class's name, `harness.engine.qwen_image_torch.TorchQwen2VLImageProcessor` (that
class's steps in torch alone, the same pixels), and vLLM's Qwen2.5-VL module,
once imported, builds the harness's image-only processor (`ImageOnlyQwen2_5_VLProcessor`: the
stock text handling and the folder's image processor, no video part). Nothing changes where torchvision imports.

vLLM inspects model classes and runs its engine in other processes. `child_environment()` gives
the variables that make every Python process started from here install the hook too: this
package's `vl_site/` folder (a `sitecustomize` that calls `install()` when
`CPT_HARNESS_IMAGE_ONLY_VL` is 1) in front of `PYTHONPATH`. Videos are not supported this way
(the harness sends none).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

FLAG = "CPT_HARNESS_IMAGE_ONLY_VL"
SITE = Path(__file__).with_name("vl_site")
TORCHVISION_BACKEND = "transformers.models.qwen2_vl.image_processing_qwen2_vl"
VLLM_QWEN25_VL = "vllm.model_executor.models.qwen2_5_vl"


def torchvision_imports() -> bool:
    try:
        import torchvision  # noqa: F401
    except Exception:  # ImportError, or a torchvision built for another torch ("operator ... does not exist")
        return False
    return True


class _ImageOnlyFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name == TORCHVISION_BACKEND:
            return importlib.machinery.ModuleSpec(name, _PilBackendLoader())
        if name == VLLM_QWEN25_VL:
            sys.meta_path.remove(self)  # find the real module, then put this finder back
            try:
                spec = importlib.util.find_spec(name)
            finally:
                sys.meta_path.insert(0, self)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchedLoader(spec.loader)
            return spec
        return None


class _PilBackendLoader(importlib.abc.Loader):
    def create_module(self, spec: Any) -> Any:
        return None

    def exec_module(self, module: Any) -> None:
        from transformers.models.qwen2_vl import image_processing_pil_qwen2_vl as pil

        from harness.engine.qwen_image_torch import TorchQwen2VLImageProcessor

        module.__dict__.update({k: v for k, v in vars(pil).items() if not k.startswith("__")})
        module.Qwen2VLImageProcessor = TorchQwen2VLImageProcessor


class _PatchedLoader(importlib.abc.Loader):
    def __init__(self, loader: Any):
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        module.Qwen2_5_VLProcessor = vllm_processor_class()


class NoVideoProcessor:
    """Stands where vLLM looks for the video processor's keyword names; refuses any other use."""

    @property
    def valid_kwargs(self) -> Any:
        from transformers.processing_utils import VideosKwargs

        return VideosKwargs

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"videos cannot be processed without torchvision ({name})")


def vllm_processor_class() -> type:
    """The image-only processor with the attribute vLLM reads of a video processor."""
    from harness.engine.image_only_processor import ImageOnlyQwen2_5_VLProcessor

    class VLLMImageOnlyQwen2_5_VLProcessor(ImageOnlyQwen2_5_VLProcessor):
        video_processor = NoVideoProcessor()

    return VLLMImageOnlyQwen2_5_VLProcessor


def installed() -> bool:
    """Whether the hook is in place in this process."""
    return any(isinstance(f, _ImageOnlyFinder) for f in sys.meta_path)


def install() -> bool:
    """Put the hook in place when torchvision does not import; True when it did."""
    if torchvision_imports():
        return False
    if not installed():
        if TORCHVISION_BACKEND in sys.modules or VLLM_QWEN25_VL in sys.modules:
            raise RuntimeError("the image-only hook must be installed before Qwen2-VL's modules are imported")
        sys.meta_path.insert(0, _ImageOnlyFinder())
    return True


def install_everywhere() -> bool:
    """`install()` here and, through this process's environment, in every Python process started
    from it (vLLM's engine and inspection processes); True when the hook was needed."""
    if not install():
        return False
    os.environ.update(child_environment())
    return True


def child_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables that make Python processes started from here install the hook."""
    env = dict(os.environ if environ is None else environ)
    env[FLAG] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE), env.get("PYTHONPATH", "")) if p)
    return env
