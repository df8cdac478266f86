"""Sampled vs greedy decoding on the hf backend at a real vocabulary (152,064 tokens).

Model: the release-layout fixture (`baselines.release_model`: Qwen2.5-VL-7B-Instruct's folder,
vocabulary and tokenizer, a tiny random body), fp32 on the CPU, where the 152k-wide output layer
and whatever happens to its logits make up most of a decoding step: the harshest case for a
sampler's cost (on a 7B model the same sampler is a far smaller share of a step). Work: `--n`
text prompts, batch size 8, the hf backend's own `_run` (padded batch, `generate`), exactly
`--tokens` new tokens per row (the stop ids are cleared so that every arm decodes the same count).

Arms, interleaved (greedy, seeded, native, greedy, …), `--repeats` each, median and min–max:
- greedy: the contract at temperature 0;
- seeded: Paper A's sampling contract (temperature 0.5, top-p 0.99, `tasks.presets.PAPER_A`)
  through the harness's per-row seeded sampler (`harness.engine.hf.SeededSampling`), whose draws
  do not depend on a row's batch company;
- native: the same temperature and top-p through transformers' own `do_sample=True` (one
  generator for the whole batch: a row's draws depend on its company), the obvious alternative.

    python bench/sampling.py [--n 32] [--tokens 64] [--repeats 5]

Run it alone: two torch jobs on two cores slow each other down.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import torch

    from baselines.release_model import build_release_model
    from harness.engine.base import Request
    from harness.engine.hf import HFBackend
    from tasks.base import GenerationContract
    from tasks.presets import PAPER_A

    model = build_release_model(Path(tempfile.mkdtemp(prefix="cpt-bench-sampling-")) / "model", seed=0)
    backend = HFBackend(str(model), batch_size=8)
    backend.eos_ids = set()  # every row decodes exactly --tokens tokens in every arm
    requests = [Request(id=str(i), messages=[{"role": "user", "content": f"Question {i}: what is {i} plus {i * 7}?"}], seed=1000 + i)
                for i in range(args.n)]
    greedy = GenerationContract(max_new_tokens=args.tokens, temperature=0.0)
    seeded = replace(greedy, temperature=PAPER_A.temperature, top_p=PAPER_A.top_p)

    def decode(contract: GenerationContract, native: bool = False) -> float:
        start = time.perf_counter()
        for b in range(0, len(requests), 8):
            batch = requests[b : b + 8]
            inputs = backend._encode_texts(batch, [backend._prompt_text(r) for r in batch], contract)
            if native:
                generate = backend.model.generate
                backend.model.generate = lambda **kw: generate(**{**kw, "do_sample": True, "temperature": contract.temperature,
                                                                  "top_p": contract.top_p, "logits_processor": None})
                try:
                    backend._run(batch, inputs, greedy)
                finally:
                    backend.model.generate = generate
            else:
                backend._run(batch, inputs, contract)
        return time.perf_counter() - start

    torch.manual_seed(0)
    decode(greedy)  # warm-up
    times: dict[str, list[float]] = {"greedy": [], "seeded": [], "native": []}
    for _ in range(args.repeats):
        times["greedy"].append(decode(greedy))
        times["seeded"].append(decode(seeded))
        times["native"].append(decode(seeded, native=True))
    steps = args.n * args.tokens
    print(f"release-layout fixture (vocabulary 152,064), fp32 CPU, {torch.get_num_threads()} threads; {args.n} prompts x "
          f"{args.tokens} new tokens, batch 8; temperature {seeded.temperature}, top-p {seeded.top_p}; {args.repeats} interleaved runs each")
    for name, xs in times.items():
        print(f"{name}: median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}); "
              f"{statistics.median(xs) / steps * 1e3:.3f} ms per row-token")
    for name in ("seeded", "native"):
        ratios = [a / b for a, b in zip(times[name], times["greedy"])]
        print(f"{name} / greedy: {statistics.median(times[name]) / statistics.median(times['greedy']):.3f}x "
              f"(per interleaved pair: min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
