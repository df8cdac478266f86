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
`import harness.lmeval_bridge`. (Wiring lm-eval tasks into `harness eval` as matrix columns is
not done yet.)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

import lm_eval.models  # noqa: F401  (lm-eval's own models register first; ours joins them)
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from harness.engine import Request, backend_identity, open_backend
from harness.engine.base import request_seed
from harness.errors import HarnessError
from harness.fingerprint import FingerprintCache, check_model_folder, fingerprint
from harness.store import ResponseStore, default_store_root
from tasks.base import GenerationContract, stable_hash


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
        self.store = ResponseStore(Path(store) if store else default_store_root())
        self.store.prepare()
        self.batch_size = int(batch_size) if str(batch_size).isdigit() else 8
        self.batching, self.seed = batching, int(seed)
        self.identity = backend_identity("hf", batch_size=self.batch_size, batching=batching)
        self._engine = None
        self._hflm = None
        self.generated = 0  # responses generated (not found in the store) by this object

    # ---- chat templates: the model folder's own, as lm-eval's hf model applies it -----------
    @property
    def tokenizer_name(self) -> str:
        return str(self.path).replace("/", "__")

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return self._tokenizer().chat_template

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return self._tokenizer().apply_chat_template(chat_history, tokenize=False, add_generation_prompt=add_generation_prompt,
                                                     continue_final_message=not add_generation_prompt)

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
            ghash = stable_hash({"contract": contract.to_dict(), "backend": self.identity, "seed": None if contract.greedy else self.seed})
            with self.store.generation_lock(self.fp, task):
                have = {sid: rec["response"] for (ver, gh, sid, sh), rec in self.store.load(self.fp, task).items()
                        if ver == lm_eval.__version__ and gh == ghash}
                missing = {digest: context for _, context, digest in items if digest not in have}
                if missing:
                    if self._engine is None:
                        self._engine = open_backend("hf", str(self.path), batch_size=self.batch_size, batching=self.batching)
                    reqs = [Request(d, [], [], request_seed(self.seed, task, d), prompt=c) for d, c in missing.items()]
                    for batch in self._engine.generate(reqs, contract):
                        self.store.append({
                            "fingerprint": self.fp, "task": task, "task_version": lm_eval.__version__, "sample_id": req.id,
                            "sample_hash": req.id, "gen_hash": ghash, "response": text, "backend": self.identity,
                            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                        } for req, text in batch)
                        for req, text in batch:
                            have[req.id] = text
                        self.generated += len(batch)
            for i, _, digest in items:
                out[i] = have[digest]
        return [text if text is not None else "" for text in out]

    # ---- log-likelihoods: lm-eval's own hf model --------------------------------------------
    def _loglikelihood_model(self) -> Any:
        if self._hflm is None:
            from lm_eval.models.huggingface import HFLM

            self._hflm = HFLM(pretrained=str(self.path), batch_size=self.batch_size, trust_remote_code=False)
        return self._hflm

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        return self._loglikelihood_model().loglikelihood(requests, disable_tqdm=disable_tqdm)

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        return self._loglikelihood_model().loglikelihood_rolling(requests, disable_tqdm=disable_tqdm)


def check_task_names(names: list[str], include_path: str | None = None) -> None:
    """One-line error for an lm-eval task name lm-eval does not know, with the closest names."""
    import difflib

    from lm_eval.tasks import TaskManager

    known = set(TaskManager(include_path=include_path).all_tasks)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise HarnessError(f"unknown lm-eval task {name!r}{hint}")
