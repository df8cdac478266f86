"""lm-evaluation-harness tasks through the harness's engine and response store.

`HarnessLM` is an `lm_eval.api.model.LM` registered as model `cpt-harness`: lm-eval builds the
requests from its own task configs and computes its own metrics; `generate_until` requests go
through our hf backend and our content-keyed store, so they are resumable and shared like ours.
A record's key: the checkpoint's fingerprint, task `lm-eval:{task}`, version = lm-eval's version,
sample id = sample hash = a digest of (context, generation arguments), generation hash = the
contract derived from lm-eval's arguments (`until` → stop strings, `max_gen_toks` → max new
tokens, 256 when absent as in lm-eval's hf model; `do_sample`/`temperature`), the backend
identity and the seed. Log-likelihood requests go to lm-eval's own `HFLM` on the same folder.

    lm_eval.simple_evaluate(model=HarnessLM(pretrained=PATH), tasks=[...], apply_chat_template=True)

or `lm-eval run --model cpt-harness --model_args pretrained=PATH,store=DIR` after
`import harness.eval.lmeval_bridge`. In `harness eval`, a general column `lm-eval:TASK` runs lm-eval on
every stage this way (`evaluate_columns`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lm_eval.models  # noqa: F401  (lm-eval's own models register first; ours joins them)
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from harness.engine import Request, backend_identity, open_backend
from harness.engine.base import request_seed
from harness.errors import HarnessError
from harness.eval.lmeval_names import LMEVAL_PREFIX
from harness.generation.loop import Pair, StoreThrough, generation_hash
from harness.generation.store import ResponseStore, default_store_root
from harness.runs.fingerprint import FingerprintCache, check_model_folder, fingerprint
from tasks.base import GenerationContract, Score, stable_hash


def _digest(context: str, gen_kwargs: dict[str, Any]) -> str:
    text = json.dumps([context, gen_kwargs], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def contract_of(gen_kwargs: dict[str, Any]) -> GenerationContract:
    """The generation contract of lm-eval's `generate_until` arguments."""
    until = gen_kwargs.get("until") or []
    until = [until] if isinstance(until, str) else list(until)
    sampling = bool(gen_kwargs.get("do_sample", False)) and float(gen_kwargs.get("temperature", 1.0)) > 0
    return GenerationContract(
        max_new_tokens=int(gen_kwargs.get("max_gen_toks", 256)),
        temperature=float(gen_kwargs.get("temperature", 1.0)) if sampling else 0.0,
        top_p=float(gen_kwargs.get("top_p", 1.0)) if sampling else 1.0,
        top_k=int(gen_kwargs.get("top_k") or -1) if sampling else -1,
        repetition_penalty=float(gen_kwargs.get("repetition_penalty", 1.0)),
        stop=tuple(until),
    )


@register_model("cpt-harness")
class HarnessLM(LM):

    def __init__(self, pretrained: str, store: str | None = None, batch_size: int | str = 8, batching: str = "padded",
                 seed: int = 0, **kwargs: Any):
        super().__init__()
        self.path = Path(pretrained)
        check_model_folder(self.path, "lm-eval model")
        self.fp = fingerprint(self.path, FingerprintCache(None))
        responses = ResponseStore(Path(store) if store else default_store_root())
        responses.prepare()
        self.batch_size = int(batch_size) if str(batch_size).isdigit() else 8
        self.batching, self.seed = batching, int(seed)
        self.identity = backend_identity("hf", batch_size=self.batch_size, batching=batching)
        self.through = StoreThrough(responses, self.identity)
        self._engine = None
        self._hflm = None

    # ---- chat templates: the model folder's own, as lm-eval's hf model applies it -----------
    @property
    def tokenizer_name(self) -> str:
        return str(self.path).replace("/", "__")

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return self._tokenizer().chat_template

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return self._tokenizer().apply_chat_template(chat_history, tokenize=False, add_generation_prompt=add_generation_prompt,
                                                     continue_final_message=not add_generation_prompt)

    def _open_engine(self) -> Any:
        if self._engine is None:
            self._engine = open_backend("hf", str(self.path), batch_size=self.batch_size, batching=self.batching)
        return self._engine

    @property
    def generated(self) -> int:
        """Responses this object generated (not found in the store)."""
        return self.through.generated

    def _tokenizer(self) -> Any:
        if not hasattr(self, "_tok"):
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(self.path, trust_remote_code=False)
        return self._tok

    # ---- generation through the store ------------------------------------------------------
    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        out: list[str | None] = [None] * len(requests)
        groups: dict[tuple[str, GenerationContract], list[tuple[int, str, str]]] = {}
        for i, inst in enumerate(requests):
            context, gen_kwargs = inst.args
            contract = contract_of(gen_kwargs)
            task = f"lm-eval:{getattr(inst, 'task_name', None) or 'task'}"
            groups.setdefault((task, contract), []).append((i, context, _digest(context, gen_kwargs)))
        import lm_eval

        for (task, contract), items in groups.items():
            contexts = {digest: context for _, context, digest in items}  # a digest is its own sample hash
            pair = Pair(self.fp, task, lm_eval.__version__, generation_hash(contract, self.identity, self.seed), {d: d for d in contexts})
            requests = [Request(d, [], [], request_seed(self.seed, task, d), prompt=c) for d, c in contexts.items()]
            have = self.through.complete(pair, requests, contract, self._open_engine,
                                         waiting=f"{task}: waiting for another harness process that is generating it")
            for i, _, digest in items:
                out[i] = have[digest]
        return [text if text is not None else "" for text in out]

    # ---- log-likelihoods: lm-eval's own hf model --------------------------------------------
    def _loglikelihood_model(self) -> Any:
        if self._hflm is None:
            from lm_eval.models.huggingface import HFLM

            from harness.engine.hf import default_device_and_dtype

            device, dtype = default_device_and_dtype()  # as the hf backend: fp32 on a CPU, bf16 on a GPU
            self._hflm = HFLM(pretrained=str(self.path), batch_size=self.batch_size, trust_remote_code=False, device=device, dtype=dtype)
        return self._hflm

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        return self._loglikelihood_model().loglikelihood(requests, disable_tqdm=disable_tqdm)

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        return self._loglikelihood_model().loglikelihood_rolling(requests, disable_tqdm=disable_tqdm)


def check_task_names(names: list[str], include_path: str | None = None, manager: Any = None) -> None:
    """One-line error for an lm-eval task name lm-eval does not know, with the closest names."""
    import difflib

    from lm_eval.tasks import TaskManager

    known = set((manager or TaskManager(include_path=include_path)).all_tasks)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise HarnessError(f"unknown lm-eval task {name!r}{hint}")


# ---- lm-eval tasks as columns of `harness eval`'s matrix --------------------------------------
@dataclass
class LMEvalRow:
    """One lm-eval document as a matrix column sees it."""

    id: str
    target: str


@dataclass
class LMEvalColumn:
    """An lm-eval task evaluated on every stage: `info` (what results.json records), `rows`
    (documents in lm-eval's order), per stage the responses and the per-document scores."""

    spec: str
    record: dict[str, Any]
    rows: list[LMEvalRow]
    responses: list[list[str]] = field(default_factory=list)
    scores: list[list[Score]] = field(default_factory=list)

    def info(self) -> dict[str, Any]:  # a `harness.eval.columns.Column`, as a Task is
        return dict(self.record)

    def summary_metrics(self, scores: list[Score]) -> dict[str, Any]:
        return {}


def evaluate_columns(stage_paths: list[Path], specs: list[str], store_root: Path, limit: int | None, batch_size: int,
                     batching: str, seed: int, include_path: str | None = None, chat_template: bool = False,
                     progress: bool = True) -> tuple[dict[str, LMEvalColumn], int]:
    """Run lm-eval's `simple_evaluate` on every stage checkpoint for the lm-eval tasks `specs`
    (`lm-eval:NAME`), generating through `HarnessLM` (our engine and store). A column's value at
    a stage is lm-eval's own aggregated metric (×100): the task's first metric, under the filter
    `none` when it has one, else its first filter. Only mean-aggregated metrics (acc,
    exact_match, ...) can be matrix columns: the matrix and `harness check` take a column as the
    mean of its per-document scores, and this is checked against lm-eval's own figure. Returns
    the columns and the number of responses generated (not found in the store)."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    names = [s[len(LMEVAL_PREFIX):] for s in specs]
    manager = TaskManager(include_path=include_path)
    check_task_names(names, include_path=include_path, manager=manager)
    columns: dict[str, LMEvalColumn] = {}
    generated = 0
    for stage, path in enumerate(stage_paths):
        model = HarnessLM(pretrained=str(path), store=str(store_root), batch_size=batch_size, batching=batching, seed=seed)
        out = lm_eval.simple_evaluate(model=model, tasks=names, task_manager=manager, limit=limit, log_samples=True,
                                      apply_chat_template=chat_template, random_seed=seed, numpy_random_seed=seed,
                                      torch_random_seed=seed, fewshot_random_seed=seed, verbosity="ERROR")
        if out is None:
            raise HarnessError("lm-eval returned no results")
        generated += model.generated
        for spec, name in zip(specs, names):
            _add_stage(columns, spec, name, out, stage, include_path, chat_template, limit)
    return columns, generated


def _add_stage(columns: dict[str, LMEvalColumn], spec: str, name: str, out: dict[str, Any], stage: int,
               include_path: str | None, chat_template: bool, limit: int | None) -> None:
    import lm_eval

    config = out["configs"].get(name)
    figures = out["results"].get(name)
    if config is None or figures is None:
        raise HarnessError(f"lm-eval task {name!r} is a group of tasks; name its tasks one by one as columns")
    metric_list = config.get("metric_list") or []
    metric = metric_list[0]["metric"] if metric_list else None
    if not isinstance(metric, str):
        raise HarnessError(f"lm-eval task {name!r} names no metric the harness can read (a metric given as a function)")
    filters = [key.split(",", 1)[1] for key in figures if key.startswith(metric + ",") and "_stderr" not in key]
    if not filters:
        raise HarnessError(f"lm-eval task {name!r} reported no {metric!r}")
    flt = "none" if "none" in filters else filters[0]
    logged = sorted((s for s in out["samples"][name] if s.get("filter", "none") == flt), key=lambda s: s["doc_id"])
    values = [float(s[metric]) for s in logged]
    aggregated = float(figures[f"{metric},{flt}"])
    if not logged or any(not 0.0 <= v <= 1.0 for v in values) or abs(sum(values) / len(values) - aggregated) > 1e-9:
        raise HarnessError(f"lm-eval task {name!r}: its metric {metric!r} is not a mean of per-document scores in [0, 1] "
                           "(only such metrics, e.g. acc or exact_match, can be matrix columns)")
    rows = [LMEvalRow(str(s["doc_id"]), str(s["target"])) for s in logged]
    responses = [_response_text(s["filtered_resps"]) for s in logged]
    config_hash = stable_hash(json.loads(json.dumps(config, default=str)), n=24)
    column = columns.get(spec)
    if column is None:
        contract = {"lm_eval_generation_kwargs": json.loads(json.dumps(config.get("generation_kwargs") or {}, default=str))}
        column = columns[spec] = LMEvalColumn(spec, {
            "name": spec, "family": "lm-eval", "version": str(out["versions"].get(name)), "metric": f"{metric} (lm-eval, ×100)",
            "params": {}, "style": None, "preset": None, "contract": contract, "n": len(rows), "gen_hash": config_hash,
            "data_hash": stable_hash([[r.id, r.target] for r in rows], n=24), "protocol": f"lm-eval:{metric},{flt}",
            "skipped_ids": [], "skip_reasons": {},
            "lm_eval": {"version": lm_eval.__version__, "task": name, "config_hash": config_hash, "metric": metric, "filter": flt,
                        "num_fewshot": out.get("n-shot", {}).get(name), "chat_template": chat_template,
                        "include_path": include_path, "output_type": config.get("output_type")},
        }, rows)
    elif column.record["gen_hash"] != config_hash or [r.id for r in column.rows] != [r.id for r in rows]:
        raise HarnessError(f"lm-eval task {name!r} changed between stages (config or documents)")
    column.responses.append(responses)
    column.scores.append([Score(v, r, True) for v, r in zip(values, responses)])


def _response_text(filtered: Any) -> str:
    """A document's filtered response as text: the generated string, or lm-eval's log-likelihood
    results as JSON."""
    if isinstance(filtered, list) and len(filtered) == 1 and isinstance(filtered[0], str):
        return filtered[0]
    if isinstance(filtered, str):
        return filtered
    return json.dumps(filtered, default=str)
