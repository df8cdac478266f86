"""The hf backend on the tiny model: batch-size independence (exact batching), agreement of
padded batching with one-at-a-time generation, seeded sampling, stop strings."""

import pytest

from harness.engine import Request, open_backend
from harness.engine.base import cut_at_stop, prepare_images, request_seed
from harness.errors import HarnessError
from tasks import get_task
from tasks.base import GenerationContract


def _requests(spec: str, n: int) -> list[Request]:
    task = get_task(f"{spec}{',' if ':' in spec else ':'}n_test={n}")
    return [Request(f"{task.spec}/{s.id}", s.messages, s.images, request_seed(0, task.spec, s.id)) for s in task.load("test")]


def _run(backend, requests, contract):
    out = {}
    for batch in backend.generate(requests, contract):
        for req, text in batch:
            assert req.id not in out
            out[req.id] = text
    return out


@pytest.fixture(scope="module")
def backends(tiny_model):
    return {bs: open_backend("hf", str(tiny_model), batch_size=bs, batching="exact") for bs in (1, 8)}


def test_greedy_results_do_not_depend_on_batch_size(backends):
    # Mixed prompt lengths (text-only and image tasks, several prompt shapes) and 24 samples.
    reqs = _requests("toy_mcq10", 8) + _requests("toy_spatial", 8) + _requests("jigsaw:mode=tiles", 8)
    contract = GenerationContract(max_new_tokens=24, stop=("<|im_end|>",))
    one = _run(backends[1], reqs, contract)
    eight = _run(backends[8], list(reversed(reqs)), contract)
    assert len(one) == 24
    assert one == eight


def test_padded_batches_agree_with_one_at_a_time(backends, tiny_model):
    """The default batching sorts by length and pads; on a mix of text-only and image prompts of
    many lengths its greedy answers equal batch-size-1 answers (measured: 112 of 112 on the mix
    of `bench`; a near-tie may flip one, hence the 95% floor), and sampling still follows the seed."""
    reqs = _requests("toy_mcq10", 8) + _requests("toy_spatial", 8) + _requests("jigsaw:mode=tiles", 8) + _requests("toy_ocr", 8)
    contract = GenerationContract(max_new_tokens=24, stop=("<|im_end|>",))
    padded = open_backend("hf", str(tiny_model), batch_size=8)
    batches = list(padded.generate(list(reversed(reqs)), contract))
    assert all(len(b) == 8 for b in batches)  # full batches, whatever the lengths
    got = {req.id: text for b in batches for req, text in b}
    one = _run(backends[1], reqs, contract)
    assert sorted(got) == sorted(one)
    assert sum(got[k] == one[k] for k in one) >= 0.95 * len(one)
    sampling = GenerationContract(max_new_tokens=16, temperature=1.0, top_p=0.99)
    first = _run(padded, reqs[:8], sampling)
    assert _run(padded, reqs[:8], sampling) == first
    assert _run(padded, [Request(r.id, r.messages, r.images, r.seed + 1) for r in reqs[:8]], sampling) != first


def test_seeded_sampling_does_not_depend_on_batch_size_and_follows_the_seed(backends):
    reqs = _requests("toy_count", 8)
    contract = GenerationContract(max_new_tokens=16, temperature=1.0, top_p=0.99)
    one = _run(backends[1], reqs, contract)
    eight = _run(backends[8], reqs, contract)
    assert one == eight
    reseeded = [Request(r.id, r.messages, r.images, r.seed + 1) for r in reqs]
    assert _run(backends[8], reseeded, contract) != one
    greedy = _run(backends[8], reqs, GenerationContract(max_new_tokens=16))
    assert greedy != one


def test_stop_strings_cut_the_response():
    assert cut_at_stop("abc</answer>def", ("</answer>", "zz")) == "abc"
    assert cut_at_stop("abc", ()) == "abc"


def test_prepare_images_applies_pixel_budget_and_reports_missing(tmp_path):
    from PIL import Image

    big = Image.new("RGB", (400, 200))
    (small,) = prepare_images([big], max_pixels=100 * 100)
    assert small.width * small.height <= 100 * 100 and abs(small.width / small.height - 2) < 0.05
    with pytest.raises(HarnessError, match="image not found"):
        prepare_images([tmp_path / "missing.png"])


def test_unknown_backend():
    with pytest.raises(HarnessError, match="unknown backend 'nope'"):
        open_backend("nope", "x")


def test_prepare_images_bounds_the_area_both_ways():
    """EasyR1's `process_image` (verl/utils/dataset.py lines 57-76): scale by the square root of the
    area ratio, truncate each side with int(), resize in the image's own mode, then RGB."""
    import math

    from PIL import Image

    from harness.engine import prepare_images

    small, big = Image.new("RGB", (100, 50)), Image.new("RGB", (2000, 1000))
    up, down = prepare_images([small, big], max_pixels=1003520, min_pixels=200704)
    f_up, f_down = math.sqrt(200704 / 5000), math.sqrt(1003520 / 2_000_000)
    assert up.size == (int(100 * f_up), int(50 * f_up)) == (633, 316)  # a few pixels under the bound, as in EasyR1
    assert down.size == (int(2000 * f_down), int(1000 * f_down)) == (1416, 708)
    assert prepare_images([small])[0].size == (100, 50)
    # A palette image is resized as a palette image (PIL's default filter for mode P is nearest),
    # then converted: no colour outside its palette appears.
    pal = Image.new("P", (40, 20))
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (0, 0, 20, 20))
    (bigger,) = prepare_images([pal], min_pixels=200 * 100)
    assert bigger.mode == "RGB" and bigger.size == (200, 100)
    assert {c for _, c in bigger.getcolors(maxcolors=1 << 16)} == {(255, 0, 0), (0, 0, 255)}
