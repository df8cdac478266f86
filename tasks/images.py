"""Image bounds, applied to an image before any processor sees it, the way Paper A's code does.

Reference: laisong-22004009/RFTvsSFT at 6ea0eeac, `EasyR1/verl/utils/dataset.py` lines 57-76
(`ImageProcessMixin.process_image`, used for every evaluated and trained image); LLaMA-Factory's
`_preprocess_image` (`LLaMA-Factory/src/llamafactory/data/mm_plugin.py` lines 195-212) takes the
same three steps for its `image_min_pixels` / `image_max_pixels`:
1. when width x height > `max_pixels`: both sides times sqrt(max_pixels / area), each truncated
   with `int()`, and `Image.resize` with PIL's default filter (bicubic; nearest for modes "1" and
   "P"), in the image's own mode;
2. then, when width x height < `min_pixels`: both sides times sqrt(min_pixels / area), truncated
   with `int()` (so the result may stay a few pixels under the bound), resized the same way;
3. then, when the mode is not RGB, `convert("RGB")`.
A bound that is None (or 0) is not applied. One departure, where the reference would crash: a
side that truncates to 0 becomes 1 pixel (PIL refuses an empty image).

The processor then applies its own `smart_resize` to what it receives, so the visual tokens of an
image are those of `smart_resize(bounded_size(...))`; `visual_tokens` computes that count.
"""

from __future__ import annotations

import math
from typing import Any


def bounded_size(width: int, height: int, min_pixels: int | None, max_pixels: int | None) -> tuple[int, int]:
    """(width, height) after steps 1 and 2 of the module docstring."""
    if max_pixels and width * height > max_pixels:
        factor = math.sqrt(max_pixels / (width * height))
        width, height = max(1, int(width * factor)), max(1, int(height * factor))
    if min_pixels and width * height < min_pixels:
        factor = math.sqrt(min_pixels / (width * height))
        width, height = max(1, int(width * factor)), max(1, int(height * factor))
    return width, height


def bound_image(image: Any, min_pixels: int | None, max_pixels: int | None) -> Any:
    """A PIL image after the three steps of the module docstring (the input is not changed)."""
    size = bounded_size(image.width, image.height, min_pixels, max_pixels)
    if size != (image.width, image.height):
        image = image.resize(size)
    return image if image.mode == "RGB" else image.convert("RGB")


def visual_tokens(width: int, height: int, min_pixels: int | None, max_pixels: int | None, *,
                  patch_size: int = 14, merge_size: int = 2, processor_min: int = 3136, processor_max: int = 12845056) -> int:
    """The visual tokens a Qwen2.5-VL processor makes of a `width` x `height` image after the
    bounds: transformers' `smart_resize` (factor patch_size x merge_size, the processor's own
    pixel range, Qwen2.5-VL-7B-Instruct's by default) of `bounded_size`, one token per merged
    patch."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    w, h = bounded_size(width, height, min_pixels, max_pixels)
    factor = patch_size * merge_size
    rh, rw = smart_resize(h, w, factor=factor, min_pixels=processor_min, max_pixels=processor_max)
    return (rh // factor) * (rw // factor)
