"""refcoco: RefCOCO referring-expression grounding (Paper B's third general probe), scored as
Acc@IoU≥0.5.

Hub `lmms-lab/RefCOCO` (splits val / test / testA / testB; ours `test` reads `subset`, default
`val`), fields relied on: `question_id`, `image`, `answer` (a list of referring expressions for
one object), `bbox` (the object's box as COCO writes it: [x, y, width, height] in pixels of the
original image). One sample per expression, as lmms-eval's `refcoco_bbox_rec` tasks explode
them; sample id `{question_id}/{k}`. A local copy or parquet file in that schema works too.

Coordinates (`coords`):
- `qwen25vl` (default): absolute pixels of the image as Qwen2.5-VL's processor resizes it —
  `smart_resize(height, width, factor=28, min_pixels, max_pixels)` of transformers (defaults
  3,136 and 12,845,056, the values of Qwen2.5-VL-7B-Instruct's processor config; set
  `min_pixels` / `max_pixels` to a model's own). The gold box is scaled by (resized / original)
  per axis into the same frame. Qwen2.5-VL grounds in these coordinates. With image bounds
  (`image_min_pixels` / `image_max_pixels`), the processor resizes the bounded image, so the frame
  is `smart_resize` of `tasks.images.bounded_size`.
- `pixels`: absolute pixels of the original image.
- `norm1000`: 0–1000 on each axis (Qwen2-VL's convention).
Prompt: the image, then "Locate the region this sentence describes and give its bounding box as
[x1, y1, x2, y2] (top-left and bottom-right corners) in {frame}: {expression}", where {frame}
names the coordinates ("pixels of this {W}x{H} image" for the two pixel frames, with the
frame's own size, or "coordinates from 0 to 1000").

Parsing rule (`parse_box`): the first four numbers, separated by commas, inside square brackets
(`[12, 30.5, 200, 310]`; a Qwen-style `{"bbox_2d": [...]}` reads the same), anywhere in the
response; none: invalid, wrong. Scoring (`box_iou`): the predicted corners are put in order
(x1 ≤ x2, y1 ≤ y2) and clipped to the frame; a box with no area after that (degenerate, or
wholly outside the image) has IoU 0; IoU = intersection / union of the two areas. A sample is
right when IoU ≥ 0.5. Summary metric: mean IoU. The invalid rate counts responses without a box.
"""

from __future__ import annotations

import io
import re
from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.errors import HarnessError
from tasks.hubtask import HubTask
from tasks.images import bounded_size
from tasks.prompts import user_turn

SUBSETS = ("val", "test", "testA", "testB")
COORDS = ("qwen25vl", "pixels", "norm1000")
NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
BOX = re.compile(r"\[" + ",".join([NUMBER] * 4) + r"\]")


def parse_box(text: str) -> tuple[float, float, float, float] | None:
    """The first `[a, b, c, d]` of numbers in the text (module docstring), or None."""
    match = BOX.search(text)
    return tuple(float(g) for g in match.groups()) if match else None  # type: ignore[return-value]


def box_iou(pred: tuple[float, ...], gold: tuple[float, ...], width: float, height: float) -> float:
    """IoU of two [x1, y1, x2, y2] boxes in a width x height frame; `pred` is ordered and
    clipped to the frame first (module docstring)."""
    x1, x2 = sorted((pred[0], pred[2]))
    y1, y2 = sorted((pred[1], pred[3]))
    x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
    y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
    area_p = (x2 - x1) * (y2 - y1)
    area_g = (gold[2] - gold[0]) * (gold[3] - gold[1])
    if area_p <= 0 or area_g <= 0:
        return 0.0
    iw = max(0.0, min(x2, gold[2]) - max(x1, gold[0]))
    ih = max(0.0, min(y2, gold[3]) - max(y1, gold[1]))
    inter = iw * ih
    return inter / (area_p + area_g - inter)


class RefCOCO(HubTask):
    name = "refcoco"
    version = "2"
    description = "RefCOCO grounding (Paper B's probe): box for a referring expression; Acc@IoU>=0.5"
    metric = "acc@iou0.5"
    hub_id = "lmms-lab/RefCOCO"
    hub_splits = {"test": "val"}
    hub_columns = ("question_id", "answer", "bbox")
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard",)
    defaults: ClassVar[dict[str, Any]] = {
        "style": "standard", "subset": "val", "coords": "qwen25vl", "min_pixels": 3136, "max_pixels": 12845056,
        **HubTask.defaults,
    }

    def validate(self) -> None:
        if self.params["subset"] not in SUBSETS:
            raise HarnessError(f"refcoco: subset must be one of {', '.join(SUBSETS)}")
        if self.params["coords"] not in COORDS:
            raise HarnessError(f"refcoco: coords must be one of {', '.join(COORDS)}")
        if not 0 < self.params["min_pixels"] <= self.params["max_pixels"]:
            raise HarnessError("refcoco: need 0 < min_pixels <= max_pixels")

    def table_samples(self, data: str, kind: str, split: str) -> list[Sample]:
        return self.samples_from_table(self.open_table(data, kind, self.params["subset"], self.hub_config), data)

    def frame(self, width: int, height: int) -> tuple[float, float]:
        """(width, height) of the coordinate frame for an original image of that size."""
        coords = self.params["coords"]
        if coords == "pixels":
            return float(width), float(height)
        if coords == "norm1000":
            return 1000.0, 1000.0
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

        contract = self.contract()  # the processor sees the image after the contract's bounds
        width, height = bounded_size(width, height, contract.min_pixels, contract.max_pixels)
        h, w = smart_resize(height, width, factor=28, min_pixels=self.params["min_pixels"], max_pixels=self.params["max_pixels"])
        return float(w), float(h)

    def from_hub_row(self, row, index, image):
        picture = image("image")
        width, height = _image_size(picture)
        fw, fh = self.frame(width, height)
        x, y, w, h = (float(v) for v in row["bbox"])
        gold = [x * fw / width, y * fh / height, (x + w) * fw / width, (y + h) * fh / height]
        if self.params["coords"] == "norm1000":
            where = "coordinates from 0 to 1000"
        else:
            where = f"pixels of this {int(fw)}x{int(fh)} image"
        expressions = row["answer"] if isinstance(row["answer"], list) else [row["answer"]]
        samples = []
        for k, expression in enumerate(expressions):
            text = (f"Locate the region this sentence describes and give its bounding box as [x1, y1, x2, y2] "
                    f"(top-left and bottom-right corners) in {where}: {expression}")
            meta = {"frame": [fw, fh], "original_size": [width, height]}
            samples.append(Sample(f"{row['question_id']}/{k}", user_turn(text, 1), [round(v, 4) for v in gold], [picture], meta))
        return samples

    def default_contract(self) -> GenerationContract:
        return GenerationContract(max_new_tokens=64)

    def score(self, response: str, sample: Sample) -> Score:
        box = parse_box(response)
        if box is None:
            return Score(0.0, None, False, {"acc": 0.0, "iou": 0.0})
        fw, fh = sample.meta["frame"]
        iou = box_iou(box, tuple(sample.target), fw, fh)
        acc = 1.0 if iou >= 0.5 else 0.0
        return Score(acc, "[" + ", ".join(f"{v:g}" for v in box) + "]", True, {"acc": acc, "iou": round(iou, 6)})

    def summary_metrics(self, scores: list[Score]) -> dict[str, float]:
        return {"mean_iou": 100.0 * sum(s.parts.get("iou", 0.0) for s in scores) / max(1, len(scores))}


def _image_size(picture: Any) -> tuple[int, int]:
    """(width, height) from the image's header only (no decode of the pixels)."""
    from PIL import Image

    raw = picture.raw()
    try:
        if isinstance(raw, dict) and raw.get("bytes"):
            with Image.open(io.BytesIO(raw["bytes"])) as img:
                return img.size
        if isinstance(raw, dict) and raw.get("path"):
            with Image.open(raw["path"]) as img:
                return img.size
    except OSError as e:
        raise HarnessError(f"refcoco: unreadable image ({e})") from None
    raise HarnessError("refcoco: a row without an image")
