"""Golden prompts: the exact text the model receives for each of the ten tasks Paper A evaluates,
against EasyR1's rendering of the same row, written out here by hand from its code
(laisong-22004009/RFTvsSFT @ 6ea0eeac, `EasyR1/verl/utils/dataset.py` `_build_messages`, the
format prompts `math_format.jinja` / `no_cot.jinja`, Qwen2.5-VL-7B-Instruct's chat template), and
LLaMA-Factory's for the direct style; then the visual tokens of images of several sizes against
EasyR1's resize (dataset.py lines 57-76) followed by transformers' `smart_resize`."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from PIL import Image

import hub_fixtures as fx
from harness.engine import Request
from harness.engine.base import prepare_images
from harness.engine.hf import chat_prompt
from tasks import get_task
from tasks.presets import QWEN25VL_CHAT_TEMPLATE

SHARED_DATA = Path(os.environ.get("CPT_HARNESS_RELEASE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "rftvssft")
needs_release = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the paper's release files are not present (set CPT_HARNESS_RELEASE_DATA; see the README)")

# The chat template's frame with its default system prompt, and one image as it renders.
HEAD = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
TAIL = "<|im_end|>\n<|im_start|>assistant\n"
IMG = "<|vision_start|><|image_pad|><|vision_end|>"
# math_format.jinja and no_cot.jinja after `{{ content | trim }}`.
COT = (" You FIRST think about the reasoning process as an internal monologue and then provide the final answer. "
       "The reasoning process MUST BE enclosed within <think> </think> tags. The final answer MUST BE put in \\boxed{}.")
NOCOT = " You MUST provide the final answer directly."
SHORT = "Answer the question using a single word or phrase."
LETTER = "Answer with the option's letter from the given choices directly."
UNANSWERABLE = "When the provided information is insufficient, respond with 'Unanswerable'."


@pytest.fixture(scope="module")
def processor():
    """A Qwen2.5-VL processor carrying the release's chat template (the tokenizer plays no part in
    the rendered text)."""
    from baselines.tiny_model import build_processor

    proc = build_processor()
    proc.chat_template = QWEN25VL_CHAT_TEMPLATE
    return proc


def _texts(processor, spec: str) -> list[str]:
    task = get_task(spec)
    return [chat_prompt(processor, Request(s.id, s.messages, s.images)) for s in task.load("test")]


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("golden")
    clevr = root / "clevr_test.json"
    clevr.write_text(json.dumps([{"images": ["clevr/test_0.png"], "messages": [
        {"content": "<image>\nHint: Please answer the question and provide the final answer at the end.\n"
                    "Question: What is the color of the large bicycle?\n" + SHORT, "role": "user"},
        {"content": "The bicycle is blue and brown", "role": "assistant"}]}]))
    return {
        "scienceqa": fx.write_hub_folder(root / "sqa", {"default": {"test": fx.scienceqa_rows()}}, {"*": fx.SCIENCEQA_SCHEMA}),
        "textvqa": fx.write_hub_folder(root / "tvqa", {"default": {"validation": fx.textvqa_rows()}}, {"*": fx.TEXTVQA_SCHEMA}),
        "vizwiz": fx.write_hub_folder(root / "vizwiz", {"default": {"val": fx.vizwiz_rows()}}, {"*": fx.VIZWIZ_SCHEMA}),
        "gqa": fx.write_hub_folder(root / "gqa", fx.gqa_configs(), {"testdev_balanced_instructions": fx.GQA_INSTRUCTIONS_SCHEMA,
                                                                       "testdev_balanced_images": fx.GQA_IMAGES_SCHEMA}),
        "geometry3k": fx.write_hub_folder(root / "geo", {"default": {"test": fx.geometry3k_rows()}}, {"*": fx.GEOMETRY3K_SCHEMA}),
        "pathvqa": fx.write_hub_folder(root / "path", {"default": {"test": fx.pathvqa_rows()}}, {"*": fx.PATHVQA_SCHEMA}),
        "superclevr": clevr,
        "mmmu": fx.write_hub_folder(root / "mmmu", fx.mmmu_configs(), {"*": fx.MMMU_SCHEMA}),
        "mmlu_pro": fx.write_hub_folder(root / "mmlu", {"default": fx.mmlu_pro_splits()}, {"*": fx.MMLU_PRO_SCHEMA}),
        "pope": fx.write_hub_folder(root / "pope", {"default": {"test": fx.pope_rows()}}, {"*": fx.POPE_SCHEMA}),
    }


# Per task: (extra spec parameters, the first sample's user text in the `paper` style before the
# format prompt, the same in the `direct` style (None: the task has no direct style)).
GOLDEN = {
    "scienceqa": ("", IMG + "\nWhich color is shown?\nA. red\nB. blue\n" + LETTER, IMG + "\nWhich color is shown?\nA. red\nB. blue\n" + LETTER),
    "textvqa": ("", IMG + "\nwhat is the brand of this camera?\nReference OCR token:DAKOTA,DIGITAL\n" + SHORT,
                IMG + "\nwhat is the brand of this camera?\nReference OCR token:DAKOTA,DIGITAL\n" + SHORT),
    "vizwiz": ("", IMG + "\nWhat is this?\n" + UNANSWERABLE + "\n" + SHORT, IMG + "\nWhat is this?\n" + UNANSWERABLE + "\n" + SHORT),
    "gqa": ("", IMG + "\nIs it overcast?\n" + SHORT, IMG + "\nIs it overcast?\n" + SHORT),
    # EasyR1 reads Geometry3K's `problem` and PathVQA's `question` from the hub: no short-answer line.
    "geometry3k": ("", IMG + "Find x.", IMG + "Find x.\n" + SHORT),
    "pathvqa": ("", IMG + "is this tissue inflamed?", IMG + "is this tissue inflamed?\n" + SHORT),
    "superclevr": ("", IMG + "\nHint: Please answer the question and provide the final answer at the end.\n"
                   "Question: What is the color of the large bicycle?\n" + SHORT,
                   IMG + "\nHint: Please answer the question and provide the final answer at the end.\n"
                   "Question: What is the color of the large bicycle?\n" + SHORT),
    "mmmu": (",subjects=Art+Math", "Which painting is older? " + IMG + " or " + IMG + "\nA. the first\nB. the second\n" + LETTER, None),
    "mmlu_pro": ("", "What is 2 + 2?\n" + "".join(f"{'ABCDEFGHIJ'[i]}. {v}\n" for i, v in enumerate(range(3, 13))) + LETTER, None),
    "pope": ("", IMG + "Is there a dog in the image?", None),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_prompts_on_hub_fixtures(processor, hub, name):
    extra, paper, direct = GOLDEN[name]
    data = f"data={hub[name]}{extra}"
    assert _texts(processor, f"{name}:{data},style=paper")[0] == HEAD + paper + COT + TAIL
    assert _texts(processor, f"{name}:{data},style=no_cot")[0] == HEAD + paper + NOCOT + TAIL
    if direct is not None:
        assert _texts(processor, f"{name}:{data},style=direct")[0] == HEAD + direct + TAIL


def test_golden_prompts_of_the_other_mmmu_rows(processor, hub):
    texts = _texts(processor, f"mmmu:data={hub['mmmu']},subjects=Art+Math,style=paper")
    assert texts[1] == HEAD + IMG + " How many figures are shown?\n" + SHORT + COT + TAIL  # open question
    assert texts[2] == HEAD + "What is the value of x?\nA. 1\nB. 2\nC. " + IMG + "\nD. 4\n" + LETTER + COT + TAIL  # an image in an option


# ---- every row of the release files -------------------------------------------------------

RELEASE = {"ScienceQA_test.json": "scienceqa", "TextVQA_test.json": "textvqa", "VizWiz_test.json": "vizwiz",
           "geo_test.json": "geometry3k", "path-vqa_test.json": "pathvqa", "clevr_test.json": "superclevr"}
ALL_DATA_TYPES = {"ScienceQA": "scienceqa", "TextVQA": "textvqa", "VizWiz": "vizwiz", "GQA": "gqa", "geo": "geometry3k",
                  "path-vqa": "pathvqa", "clevr": "superclevr"}


def _expected(content: str, task: str, style: str) -> str:
    """EasyR1's rendering of a release row (RFT styles) or LLaMA-Factory's (direct), by hand:
    the placeholder becomes the image tokens where it stands; the RFT styles trim the prompt and
    append the format prompt after a space, and for Geometry3K and PathVQA start from the hub row,
    which lacks the short-answer line."""
    if style == "direct":
        return HEAD + content.replace("<image>", IMG) + TAIL
    if task in ("geometry3k", "pathvqa") and content.endswith("\n" + SHORT):
        content = content[: -len("\n" + SHORT)]
    return HEAD + content.strip().replace("<image>", IMG) + (COT if style == "paper" else NOCOT) + TAIL


@needs_release
@pytest.mark.parametrize("file", list(RELEASE) + ["all_data_test.json"])
def test_golden_prompts_on_every_release_row(processor, tmp_path, file):
    rows = json.loads((SHARED_DATA / file).read_text())
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(ALL_DATA_TYPES[row["data_type"]] if "data_type" in row else RELEASE[file], []).append(row)
    checked = 0
    for task, items in groups.items():
        path = tmp_path / f"{task}.json"
        path.write_text(json.dumps(items))
        for style in ("paper", "no_cot", "direct"):
            got = _texts(processor, f"{task}:data={path},style={style}")
            want = [_expected(item["messages"][0]["content"], task, style) for item in items]
            first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), None)
            assert first is None, f"{file} row {first} ({style}): {got[first]!r} != {want[first]!r}"
            checked += len(items)
    assert checked == 3 * len(rows)


# ---- visual tokens ------------------------------------------------------------------------

SIZES = [(300, 200), (500, 375), (3264, 2448), (32, 32), (640, 480), (4000, 60), (1000, 1000)]


def _easyr1_size(width: int, height: int, min_pixels: int | None, max_pixels: int | None) -> tuple[int, int]:
    """EasyR1's `process_image` arithmetic (dataset.py lines 63-71), written out by hand."""
    if max_pixels and width * height > max_pixels:
        f = math.sqrt(max_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    if min_pixels and width * height < min_pixels:
        f = math.sqrt(min_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    return width, height


def _expected_tokens(width: int, height: int, min_pixels: int | None, max_pixels: int | None) -> int:
    """Qwen2.5-VL-7B-Instruct's processor (preprocessor_config.json: patch 14, merge 2, pixels in
    [3,136, 12,845,056]) on EasyR1's resized image: transformers' smart_resize, a token per 28x28."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    w, h = _easyr1_size(width, height, min_pixels, max_pixels)
    rh, rw = smart_resize(h, w, factor=28, min_pixels=3136, max_pixels=12845056)
    return (rh // 28) * (rw // 28)


@pytest.fixture(scope="module")
def release_image_processor():
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(min_pixels=3136, max_pixels=12845056, patch_size=14, merge_size=2, temporal_patch_size=2)


def _tokens_through_the_harness(image: Image.Image, task, processor) -> int:
    contract = task.contract()
    (prepared,) = prepare_images([image], contract.min_pixels, contract.max_pixels)
    grid = processor(images=[prepared], return_tensors="pt")["image_grid_thw"][0].tolist()
    return grid[0] * grid[1] * grid[2] // 4


def test_visual_tokens_of_the_issue_examples():
    """300x200 -> 330 tokens, 500x375 -> 336, 3264x2448 -> 5,292 under Paper A's bounds (the
    processor's own range alone gave 77, 234 and 10,179)."""
    bounds = (262144, 4194304)
    assert [_expected_tokens(w, h, *bounds) for w, h in SIZES[:3]] == [330, 336, 5292]
    assert [_expected_tokens(w, h, None, None) for w, h in SIZES[:3]] == [77, 234, 10179]


@pytest.mark.parametrize("name", ["scienceqa", "textvqa", "vizwiz", "gqa", "geometry3k", "pathvqa", "superclevr", "mmmu", "pope"])
def test_visual_token_table_per_task(name, release_image_processor):
    """For each image task: the paper style's tokens equal EasyR1's resize then smart_resize, for
    every size; the direct style's follow LLaMA-Factory's bounds [1,024, 4,194,304]."""
    from tasks.images import visual_tokens

    table = {}
    for style, bounds in (("paper", (262144, 4194304)), ("no_cot", (262144, 4194304)), ("direct", (1024, 4194304))):
        if style == "direct" and name in ("mmmu", "pope"):
            continue
        task = get_task(f"{name}:style={style}")
        for w, h in SIZES:
            image = Image.new("RGB", (w, h), "white")
            got = _tokens_through_the_harness(image, task, release_image_processor)
            assert got == _expected_tokens(w, h, *bounds) == visual_tokens(w, h, *bounds), (style, w, h)
            table[(style, w, h)] = got
    assert table[("paper", 300, 200)] == 330


def test_image_bounds_are_task_parameters_and_contract_fields():
    task = get_task("scienceqa:image_min_pixels=0,image_max_pixels=1000000")
    c = task.contract()
    assert (c.min_pixels, c.max_pixels) == (None, 1000000)
    assert get_task("scienceqa").contract().to_dict() != c.to_dict()  # so the store key differs
    assert get_task("toy_count:image_max_pixels=4096").contract().max_pixels == 4096
    assert "image_min_pixels" not in get_task("mmlu_pro").params  # text only
    from tasks.errors import HarnessError

    with pytest.raises(HarnessError, match=r"min_pixels \(5000\) must not exceed max_pixels \(100\)"):
        get_task("scienceqa:image_min_pixels=5000,image_max_pixels=100")
    with pytest.raises(HarnessError, match="image_max_pixels must be -1"):
        get_task("scienceqa:image_max_pixels=-5")
