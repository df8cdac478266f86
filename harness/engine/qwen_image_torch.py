"""Qwen2-VL image processing exactly as transformers' torchvision backend does it
(`Qwen2VLImageProcessor`, the class a GPU install with torchvision builds), in torch alone.

Without torchvision transformers falls back to its PIL backend, whose resize (PIL's bicubic) and
float steps give different pixel values. The torchvision backend's own steps are torch calls:
the PIL image as a uint8 CHW tensor, `torch.nn.functional.interpolate` (bicubic, antialias, on
uint8 where torchvision resizes uint8 natively), then the fused rescale and normalise
(`(x - mean * 255) / (std * 255)` in float32) and the patch layout. This class repeats them,
on transformers' PIL-backend class for everything else (options, `smart_resize`, patch
counts), so a machine without torchvision sees the pixels a GPU machine sees
(`tests/test_release_model.py` compares it with the stock class where torchvision imports).
"""

from __future__ import annotations

import platform

import numpy as np
import torch
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import PILImageResampling
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil, smart_resize

MODES = {PILImageResampling.BICUBIC: "bicubic", PILImageResampling.BILINEAR: "bilinear"}


def native_uint8(mode: str) -> bool:
    """Whether torchvision resizes a uint8 tensor as it is (else in float32, then rounds)."""
    if mode == "bilinear":
        return torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512") or platform.machine() in ("aarch64", "arm64")
    return True


def resize_like_torchvision(image: torch.Tensor, height: int, width: int, mode: str) -> torch.Tensor:
    """torchvision.transforms.v2.functional.resize of a uint8 (C, H, W) tensor, antialiased."""
    if image.shape[-2:] == (height, width):
        return image
    batch = image.unsqueeze(0)
    if native_uint8(mode):
        return torch.nn.functional.interpolate(batch, size=[height, width], mode=mode, align_corners=False, antialias=True)[0]
    out = torch.nn.functional.interpolate(batch.float(), size=[height, width], mode=mode, align_corners=False, antialias=True)
    if mode == "bicubic":
        out = out.clamp_(min=0, max=255)
    return out.round_().to(torch.uint8)[0]


class TorchQwen2VLImageProcessor(Qwen2VLImageProcessorPil):
    """`Qwen2VLImageProcessor` (torchvision backend) in torch alone; see the module docstring."""

    def _preprocess(self, images: list[np.ndarray], do_resize: bool, size, resample, do_rescale: bool, rescale_factor: float,
                    do_normalize: bool, image_mean, image_std, patch_size: int, temporal_patch_size: int, merge_size: int,
                    return_tensors=None, **kwargs) -> BatchFeature:
        mode = MODES.get(PILImageResampling(resample) if resample is not None else PILImageResampling.BILINEAR)
        if do_resize and mode is None:
            raise ValueError(f"resample {resample!r} is not supported without torchvision (bicubic or bilinear only)")
        if do_rescale and do_normalize:  # the torchvision backend's fused form
            mean = torch.tensor(image_mean) * (1.0 / rescale_factor)
            std = torch.tensor(image_std) * (1.0 / rescale_factor)
        patches, grids = [], []
        for array in images:
            image = torch.from_numpy(np.ascontiguousarray(array))  # uint8 (C, H, W), as the PIL backend leaves it
            if do_resize:
                height, width = smart_resize(image.shape[-2], image.shape[-1], factor=patch_size * merge_size,
                                             min_pixels=size.shortest_edge, max_pixels=size.longest_edge)
                image = resize_like_torchvision(image, height, width, mode)
            if do_normalize:
                pixels = image.to(torch.float32)
                m, s = (mean, std) if do_rescale else (torch.as_tensor(image_mean), torch.as_tensor(image_std))
                pixels = pixels.sub_(m.to(torch.float32).view(-1, 1, 1)).div_(s.to(torch.float32).view(-1, 1, 1))
            elif do_rescale:
                pixels = image * rescale_factor
            else:
                pixels = image
            flat, grid_h, grid_w = self._patchify(pixels, patch_size, merge_size, temporal_patch_size)
            patches.append(flat)
            grids.append([1, grid_h, grid_w])
        pixel_values = torch.cat(patches, dim=0)
        return BatchFeature(data={"pixel_values": pixel_values, "image_grid_thw": torch.tensor(grids, dtype=torch.long)},
                            tensor_type=return_tensors)

    @staticmethod
    def _patchify(image: torch.Tensor, patch_size: int, merge_size: int, temporal_patch_size: int) -> tuple[torch.Tensor, int, int]:
        channel, height, width = image.shape
        grid_h, grid_w = height // patch_size, width // patch_size
        patches = image.reshape(1, channel, grid_h // merge_size, merge_size, patch_size, grid_w // merge_size, merge_size, patch_size)
        patches = patches.permute(0, 2, 5, 3, 6, 1, 4, 7)
        flat = patches.unsqueeze(6).expand(-1, -1, -1, -1, -1, -1, temporal_patch_size, -1, -1)
        return flat.reshape(grid_h * grid_w, channel * temporal_patch_size * patch_size * patch_size), grid_h, grid_w
