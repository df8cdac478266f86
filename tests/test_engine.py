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


def test_seeded_sampling_draws_from_vllms_filtered_distribution():
    """Many seeded draws from fixed logits follow the distribution vLLM samples from: tempered,
    top-k, then the top-p nucleus (tokens whose strictly more likely tokens hold at most top_p
    of the mass), renormalised. Fixed seeds, so the counts are the same on every run. The sampler
    writes over the logits it is given (`generate` hands it a copy), so each call gets a copy."""
    import torch

    from harness.engine.hf import SeededSampling

    logits = torch.tensor([[2.0, 1.5, 1.0, 0.5, 0.0, -1.0]])
    for temperature, top_k, top_p in ((1.0, -1, 1.0), (0.7, -1, 0.8), (1.3, 3, 0.9), (1.0, 4, 0.5)):
        probs = torch.softmax(logits[0].double() / temperature, dim=-1)
        if top_k > 0:
            probs = torch.where(probs >= torch.topk(probs, top_k).values[-1], probs, 0.0)
        probs = probs / probs.sum()
        above = torch.tensor([probs[probs > p].sum() for p in probs])
        expected = torch.where(above <= top_p, probs, 0.0)
        expected = expected / expected.sum()
        n = 4000
        counts = torch.zeros(6)
        for seed in range(n):
            out = SeededSampling([seed], temperature, top_p, prompt_len=0, top_k=top_k)(torch.zeros(1, 3, dtype=torch.long), logits.clone())
            counts[int(out.argmax())] += 1
        assert torch.all(counts[expected == 0] == 0), (temperature, top_k, top_p)
        assert torch.allclose(counts / n, expected.float(), atol=0.03), (temperature, top_k, top_p, counts / n, expected)
    # The same seed and step give the same token, alone or beside other rows.
    alone = SeededSampling([7], 1.0, 0.9, 0)(torch.zeros(1, 5, dtype=torch.long), logits.clone()).argmax(-1)
    together = SeededSampling([3, 7, 11], 1.0, 0.9, 0)(torch.zeros(3, 5, dtype=torch.long), logits.repeat(3, 1)).argmax(-1)
    assert together[1] == alone[0]


def test_seeded_sampling_at_a_real_vocabulary_matches_a_direct_computation():
    """At 152,064 tokens: the two-level inversion returns what a full cumulative sum and
    `searchsorted` return, and the nucleus test (its own-weight bound, its check on a prefix and
    its full pass) agrees with the nucleus computed by sorting, for drawn tokens inside and
    outside it."""
    import torch

    from harness.engine.hf import SeededSampling, invert_cdf, per_block

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 152064, generator=g) * torch.tensor([[0.5], [3.0], [8.0], [30.0]])
    probs = torch.softmax(logits / 0.7, dim=-1)
    probs[1, probs[1] < probs[1].quantile(0.5)] = 0.0  # a top-k-like row with zero-weight tokens
    for _ in range(50):
        u = torch.rand(4, generator=g, dtype=torch.float64)
        got, totals = invert_cdf(probs, u)
        cdf = probs.double().cumsum(-1)
        want = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(-1), right=True).squeeze(-1)
        assert torch.equal(got, want) and torch.all(probs.gather(1, got.unsqueeze(-1)) > 0)
    sampler = SeededSampling([0, 1, 2, 3], 1.0, 0.9, 0)
    order = probs.double().sort(-1, descending=True)
    above = order.values.cumsum(-1) - order.values  # mass strictly above each sorted token (ties aside)
    for _ in range(20):
        ranks = torch.randint(0, 152064, (4,), generator=g)
        drawn = order.indices.gather(1, ranks.unsqueeze(-1)).squeeze(-1)
        want = above.gather(1, ranks.unsqueeze(-1)).squeeze(-1) <= 0.9 * probs.double().sum(-1)
        got = sampler._in_nucleus(probs, drawn, probs.sum(-1).double(), per_block(probs, torch.sum))
        tie = probs.gather(1, drawn.unsqueeze(-1)).squeeze(-1) == 0
        assert torch.equal(got[~tie], want[~tie])
