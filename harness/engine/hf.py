"""The `hf` backend: batched generation with transformers, on CPU or GPU.

Two batching modes (`batching=`):
- `padded` (default): the whole request list is sorted by prompt length (text tokens of the
  chat-templated prompt; images count as their number of image parts), cut into batches of
  `batch_size` neighbours, and each batch is encoded by one processor call with left padding.
  Batches are full and hold prompts of similar length, which is what makes real task mixes fast.
  Padding changes the order of floating-point reductions, so a greedy response can differ from
  the same prompt generated alone (on near-ties); the mode and batch size are part of the backend
  identity (and so of the store key), so responses of different batchings are never mixed.
- `exact`: prompts are grouped by exact token length (image tokens included), so no batch ever
  holds padding, and a row's result is the same alone or in a batch of eight (a test checks
  this); batches are often nearly empty on real mixes.
Sampling draws per row from a generator seeded by (request seed, step) through the Gumbel-max
trick, so it is exact sampling from the tempered, top-k- and top-p-filtered distribution (vLLM's
order: repetition penalty, temperature, top-k, top-p), and in `exact` mode independent of batch
company.

Decoding is the contract's alone: the model's generation config is replaced at load by one that
holds only its end-of-sequence and padding ids (the stop tokens, which vLLM also takes from
`generation_config.json`), and every other value (sampling, repetition penalty, new tokens) is
passed explicitly, so a checkpoint's `generation_config.json` changes no response.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from harness.engine.base import Backend, Request, chat_messages, contract_images, cut_at_stop
from harness.errors import HarnessError
from tasks.base import GenerationContract

ENCODE_WINDOW = 16  # `exact` mode: batches' worth of requests encoded (and held in memory) at a time
BATCHING = ("padded", "exact")


def load_processor(path: str) -> Any:
    """The processor of a model folder. Our image-only Qwen processor is loaded from its own
    class; anything else goes through AutoProcessor, which returns a bare tokenizer for
    text-only models. Remote code is never trusted (`harness.fingerprint.check_model_folder`
    has refused folders with an `auto_map` before this runs)."""
    from transformers import AutoProcessor

    config = Path(path) / "processor_config.json"
    if config.is_file():
        try:
            cls_name = json.loads(config.read_text()).get("processor_class")
        except ValueError:
            cls_name = None
        if cls_name == "ImageOnlyQwen2_5_VLProcessor":
            from harness.engine.image_only_processor import ImageOnlyQwen2_5_VLProcessor

            return ImageOnlyQwen2_5_VLProcessor.from_pretrained(path, trust_remote_code=False)
    return AutoProcessor.from_pretrained(path, trust_remote_code=False)


def load_model(path: str, dtype: torch.dtype, device: str) -> Any:
    """The model of a checked folder: safetensors weights only, no remote code."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    config = AutoConfig.from_pretrained(path, trust_remote_code=False)
    auto = AutoModelForImageTextToText if config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES else AutoModelForCausalLM
    model = auto.from_pretrained(path, dtype=dtype, trust_remote_code=False, use_safetensors=True)
    return model.to(device).eval()


def default_device_and_dtype() -> tuple[str, str]:
    return ("cuda", "bfloat16") if torch.cuda.is_available() else ("cpu", "float32")


def chat_prompt(processor: Any, req: Request) -> str:
    """The exact text a model folder's processor (or bare tokenizer) makes of a request: its chat
    template applied to the messages, with the generation prompt; image parts become the
    template's image tokens. A request with a raw `prompt` (text only) is taken as it is."""
    if req.prompt is not None:
        if req.images:
            raise HarnessError(f"sample {req.id}: a raw prompt takes no images")
        return req.prompt
    n_image_parts = sum(
        1 for m in req.messages if isinstance(m.get("content"), list)
        for p in m["content"] if p.get("type") == "image"
    )
    if n_image_parts != len(req.images):
        raise HarnessError(f"sample {req.id}: {n_image_parts} image placeholders but {len(req.images)} images")
    if hasattr(processor, "image_processor"):
        return processor.apply_chat_template(req.messages, add_generation_prompt=True, tokenize=False)
    if req.images:
        raise HarnessError(f"sample {req.id} has images but the model takes text only")
    tokenizer = getattr(processor, "tokenizer", processor)
    return tokenizer.apply_chat_template(chat_messages(req, []), add_generation_prompt=True, tokenize=False)


class SeededSampling(LogitsProcessor):
    """Turns greedy decoding into per-row seeded sampling: temperature, then top-p filtering,
    then Gumbel noise from a generator seeded by (row seed, step); argmax of the result is a
    sample from the filtered distribution."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float, prompt_len: int, top_k: int = -1):
        self.seeds, self.temperature, self.top_p, self.prompt_len, self.top_k = seeds, temperature, top_p, prompt_len, top_k

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.prompt_len
        logits = scores.float() / self.temperature
        if 0 < self.top_k < logits.shape[-1]:
            kth = torch.topk(logits, self.top_k, dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.top_p < 1.0:
            probs, order = torch.sort(torch.softmax(logits, dim=-1), descending=True, dim=-1)
            before = torch.cumsum(probs, dim=-1) - probs  # mass of strictly more likely tokens
            drop_sorted = before > self.top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
            logits = logits.masked_fill(drop, float("-inf"))
        noise = torch.empty_like(logits, device="cpu")
        for row, seed in enumerate(self.seeds):
            gen = torch.Generator().manual_seed((seed * 1_000_003 + step) % (1 << 63))
            u = torch.rand(logits.shape[-1], generator=gen, dtype=torch.float64).clamp_(1e-12, 1 - 1e-12)
            noise[row] = (-torch.log(-torch.log(u))).float()
        return logits + noise.to(logits.device)


class HFBackend(Backend):
    name = "hf"

    def __init__(self, model_path: str, batch_size: int = 8, batching: str = "padded"):
        if batching not in BATCHING:
            raise HarnessError(f"unknown batching {batching!r} (choose from: {', '.join(BATCHING)})")
        self.batch_size, self.batching = max(1, int(batch_size)), batching
        self.device, dtype = default_device_and_dtype()
        torch_dtype = getattr(torch, dtype)
        try:
            self.processor = load_processor(model_path)
            self.model = load_model(model_path, torch_dtype, self.device)
        except (OSError, ValueError, KeyError, RuntimeError) as e:  # RuntimeError: weights that do not fit the config
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise HarnessError(f"cannot load model from {model_path}: {first}") from None
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.multimodal = hasattr(self.processor, "image_processor")
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self.pad_id = self.model.generation_config.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else next(iter(self.eos_ids), 0)
        if self.tokenizer.pad_token_id is None:  # batches are padded (encoding asks for padding in both modes)
            self.tokenizer.pad_token_id = self.pad_id
        # Nothing else of the checkpoint's generation config may reach `generate` (module docstring).
        self.model.generation_config = GenerationConfig(eos_token_id=sorted(self.eos_ids) or None, pad_token_id=self.pad_id)

    # ---- encoding ---------------------------------------------------------------------------
    def _prompt_text(self, req: Request) -> str:
        return chat_prompt(self.processor, req)

    def _encode_texts(self, reqs: list[Request], texts: list[str], contract: GenerationContract) -> dict[str, torch.Tensor]:
        """One processor call for a batch, left-padded to its longest prompt."""
        if self.multimodal:
            images = [img for req in reqs for img in contract_images(req.images, contract)]
            self.tokenizer.padding_side = "left"
            enc = self.processor(text=texts, images=images or None, return_tensors="pt", padding=True)
        else:
            self.tokenizer.padding_side = "left"
            enc = self.tokenizer(texts, return_tensors="pt", add_special_tokens=False, padding=True)
        return {k: v for k, v in enc.items() if isinstance(v, torch.Tensor)}

    def _encode(self, req: Request, contract: GenerationContract) -> dict[str, torch.Tensor]:
        return self._encode_texts([req], [self._prompt_text(req)], contract)

    def continuation_nll(self, req: Request, continuation: str, contract: GenerationContract) -> tuple[float, int]:
        """(summed negative log-likelihood in nats, token count) of `continuation` after the
        request's chat-templated prompt, followed by the end-of-turn token the chat template
        closes an assistant turn with (what SFT trains on)."""
        prompt = self._prompt_text(req)
        full = prompt + continuation + "<|im_end|>"
        enc_prompt = self._encode_texts([req], [prompt], contract)
        enc = self._encode_texts([req], [full], contract)
        n = enc_prompt["input_ids"].shape[1]
        ids = enc["input_ids"][0]
        if not torch.equal(ids[:n], enc_prompt["input_ids"][0]):
            raise HarnessError(f"sample {req.id}: the prompt's tokens change when the continuation follows")
        with torch.no_grad():
            logits = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits[0, n - 1 : -1].float()
        target = ids[n:].to(logits.device)
        nll = -torch.log_softmax(logits, dim=-1).gather(1, target[:, None]).sum()
        return float(nll), int(target.numel())

    # ---- generation -------------------------------------------------------------------------
    def generate(self, requests: list[Request], contract: GenerationContract) -> Iterator[list[tuple[Request, str]]]:
        if self.batching == "exact":
            yield from self._generate_exact(requests, contract)
            return
        texts = [self._prompt_text(req) for req in requests]
        lengths = [len(ids) + len(req.images) for ids, req in zip(self.tokenizer(texts, add_special_tokens=False)["input_ids"], requests)]
        order = sorted(range(len(requests)), key=lambda i: (lengths[i], i))
        for b in range(0, len(order), self.batch_size):
            rows = order[b : b + self.batch_size]
            reqs = [requests[i] for i in rows]
            enc = self._encode_texts(reqs, [texts[i] for i in rows], contract)
            yield self._run(reqs, enc, contract)

    def _generate_exact(self, requests: list[Request], contract: GenerationContract) -> Iterator[list[tuple[Request, str]]]:
        window = self.batch_size * ENCODE_WINDOW
        for start in range(0, len(requests), window):
            chunk = requests[start : start + window]
            buckets: dict[int, list[tuple[Request, dict[str, torch.Tensor]]]] = defaultdict(list)
            for req in chunk:
                enc = self._encode(req, contract)
                buckets[enc["input_ids"].shape[1]].append((req, enc))
            for length in sorted(buckets):
                group = buckets[length]
                for b in range(0, len(group), self.batch_size):
                    batch = group[b : b + self.batch_size]
                    inputs = {k: torch.cat([enc[k] for _, enc in batch], dim=0) for k in batch[0][1]}
                    yield self._run([req for req, _ in batch], inputs, contract)

    @torch.inference_mode()
    def _run(self, reqs: list[Request], inputs: dict[str, torch.Tensor], contract: GenerationContract) -> list[tuple[Request, str]]:
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        prompt_len = inputs["input_ids"].shape[1]
        eos = set(self.eos_ids)
        stop_strings = []
        for s in contract.stop:
            tid = self.tokenizer.convert_tokens_to_ids(s) if s in self.tokenizer.all_special_tokens else None
            if tid is not None:
                eos.add(tid)
            else:
                stop_strings.append(s)
        kwargs: dict[str, Any] = dict(
            max_new_tokens=contract.max_new_tokens,
            min_new_tokens=0,
            do_sample=False,  # sampling, when the contract asks for it, is SeededSampling's
            num_beams=1,
            repetition_penalty=contract.repetition_penalty,
            no_repeat_ngram_size=0,
            eos_token_id=sorted(eos) or None,
            pad_token_id=self.pad_id,
            temperature=None,
            top_p=None,
            top_k=None,
        )
        if stop_strings:
            kwargs.update(stop_strings=stop_strings, tokenizer=self.tokenizer)
        if not contract.greedy:
            seeds = [req.seed for req in reqs]
            kwargs["logits_processor"] = LogitsProcessorList(
                [SeededSampling(seeds, contract.temperature, contract.top_p, prompt_len, contract.top_k)]
            )
        out = self.model.generate(**inputs, **kwargs)
        results = []
        for row, req in enumerate(reqs):
            tokens = out[row, prompt_len:].tolist()
            for i, t in enumerate(tokens):
                if t in eos:
                    tokens = tokens[:i]
                    break
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            # Trailing U+FFFD (bytes of a character the response never completed) are dropped,
            # as vLLM's incremental detokenizer never emits them, so the two engines agree.
            results.append((req, cut_at_stop(text, contract.stop).rstrip("\ufffd")))
        return results

    def close(self) -> None:
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

