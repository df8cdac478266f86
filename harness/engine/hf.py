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
Sampling draws per row from a generator seeded by (request seed, step), by inversion of the
tempered, top-k- and top-p-filtered distribution (vLLM's order: repetition penalty, temperature,
top-k, top-p; `SeededSampling`), so it is exact sampling, and in `exact` mode independent of
batch company.

Decoding is the contract's alone: the model's generation config is replaced at load by one that
holds only its end-of-sequence and padding ids (the stop tokens, which vLLM also takes from
`generation_config.json`), and every other value (sampling, repetition penalty, new tokens) is
passed explicitly, so a checkpoint's `generation_config.json` changes no response.
"""

from __future__ import annotations

import functools
import sys
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


@functools.cache
def note_image_only_fallback() -> None:
    """Say once per process that the image-only processor stands in for the stock one."""
    print("note: torchvision is not installed, which the stock Qwen2.5-VL processor needs (for its video part); the "
          "image-only processor takes its place: the same text handling, and the stock image processor's steps "
          "done in torch, giving the same pixels", file=sys.stderr)


def load_processor(path: str) -> Any:
    """The processor of a model folder. Our image-only Qwen processor is loaded from its own
    class; anything else goes through AutoProcessor, which returns a bare tokenizer for
    text-only models. A Qwen2.5-VL folder as Qwen releases it (no
    `processor_config.json`) names the stock `Qwen2_5_VLProcessor`, whose video part needs
    torchvision; without torchvision the image-only class is built from the same folder instead
    (the same tokenizer and chat template; the image processor the folder names,
    `Qwen2VLImageProcessor`, repeated in torch alone by `TorchQwen2VLImageProcessor`, pixel for
    pixel), and this is said once. Remote code is never trusted
    (`harness.runs.fingerprint.check_model_folder` has refused folders with an `auto_map` before this
    runs). Any failure is one line."""
    from transformers import AutoProcessor

    from harness.engine.image_only_processor import ImageOnlyQwen2_5_VLProcessor
    from harness.files import read_config

    config = Path(path) / "processor_config.json"
    if config.is_file():
        try:
            cls_name = read_config(config, f"checkpoint {path}").get("processor_class")
        except (HarnessError, AttributeError):  # unreadable, or not an object: AutoProcessor decides
            cls_name = None
        if cls_name == "ImageOnlyQwen2_5_VLProcessor":
            return _one_line(lambda: ImageOnlyQwen2_5_VLProcessor.from_pretrained(path, trust_remote_code=False), path)
    try:
        return AutoProcessor.from_pretrained(path, trust_remote_code=False)
    except ImportError as e:
        if "torchvision" not in str(e).lower() or not _qwen_vl(path):
            raise HarnessError(f"cannot load the processor of {path}: {_first_line(e)}") from None
        from harness.engine.qwen_image_torch import TorchQwen2VLImageProcessor

        processor = _one_line(lambda: ImageOnlyQwen2_5_VLProcessor.from_pretrained(path, trust_remote_code=False), path)
        processor.image_processor = _one_line(lambda: TorchQwen2VLImageProcessor.from_pretrained(path), path)
        note_image_only_fallback()
        return processor
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise HarnessError(f"cannot load the processor of {path}: {_first_line(e)}") from None


def _qwen_vl(path: str) -> bool:
    from harness.files import read_config

    try:
        config = read_config(Path(path) / "config.json", f"checkpoint {path}")
    except HarnessError:
        return False
    return isinstance(config, dict) and config.get("model_type") == "qwen2_5_vl"


def _first_line(e: BaseException) -> str:
    return next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)


def _one_line(load: Any, path: str) -> Any:
    try:
        return load()
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError) as e:
        raise HarnessError(f"cannot load the processor of {path}: {_first_line(e)}") from None


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


INVERSION_BLOCK = 1024  # tokens per block of the two-level search in `invert_cdf`
NUCLEUS_PREFIX_BLOCKS = 16  # blocks of the first, cheap nucleus check (`SeededSampling._in_nucleus`)
LOG2_E = 1.4426950408889634  # exp(x) = 2 ** (x * log2(e))


def per_block(probs: torch.Tensor, reduce: Any) -> torch.Tensor:
    """`reduce` (torch.sum, torch.amax) over each block of INVERSION_BLOCK tokens of each row; the
    last block holds the remainder."""
    rows, vocab = probs.shape
    full = vocab // INVERSION_BLOCK * INVERSION_BLOCK
    parts = [reduce(probs[:, :full].reshape(rows, -1, INVERSION_BLOCK), -1)] if full else []
    if full < vocab:
        parts.append(reduce(probs[:, full:], -1, keepdim=True))
    return torch.cat(parts, dim=-1)


def invert_cdf(probs: torch.Tensor, uniforms: torch.Tensor, sums: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of `probs` (non-negative weights, not necessarily normalised) and its uniform
    number u in [0, 1): the first token whose cumulative weight exceeds u * (row total), which is
    `searchsorted(cumsum(row), u * total, right=True)`, so a zero-weight token is never returned;
    and the row totals (float64). Two levels, to read the vocabulary once: block sums (one pass),
    the block holding the target, then a cumulative sum inside that block only. `sums`: the
    block sums (`per_block(probs, torch.sum)`) when the caller has them."""
    vocab = probs.shape[-1]
    sums = per_block(probs, torch.sum) if sums is None else sums
    cumulative = sums.double().cumsum(-1)
    totals = cumulative[:, -1]
    targets = (uniforms.to(cumulative.device) * totals).unsqueeze(-1)
    block = torch.searchsorted(cumulative, targets, right=True).clamp_(max=sums.shape[-1] - 1)
    before = torch.nn.functional.pad(cumulative, (1, 0)).gather(1, block)  # the mass before the block
    index = block * INVERSION_BLOCK + torch.arange(INVERSION_BLOCK, device=probs.device)
    inside = probs.gather(1, index.clamp(max=vocab - 1)).double().mul_(index < vocab).cumsum_(-1)
    k = torch.searchsorted(inside, targets - before, right=True)
    # Rounding at a block's end can point past its last token with weight: take that token (the
    # first at which the block's cumulative weight reaches its end value).
    last = torch.searchsorted(inside, inside[:, -1:].contiguous())
    return (index.gather(1, torch.minimum(k, last))).squeeze(-1), totals


class SeededSampling(LogitsProcessor):
    """Turns greedy decoding into per-row seeded sampling. Each row draws from the distribution
    vLLM samples from (`softmax(logits / temperature)` with no weight under 2^-100 of the largest,
    restricted to the top-k tokens, then to the top-p nucleus: the tokens whose strictly more
    likely tokens hold at most `top_p` of the mass), by inversion: a uniform number from a
    generator seeded by (row seed, step) is located in the cumulative distribution
    (`invert_cdf`). A draw outside the nucleus is drawn again (the next number of the same
    generator): exact rejection sampling from the nucleus, a second draw about once in a hundred
    at top-p 0.99 (`_in_nucleus` says how membership is decided cheaply). The scores it is given
    are overwritten (`generate` hands over a copy): they become the weights, and then the drawn
    token's score becomes the only infinite one, so `generate`'s argmax takes it; no
    vocabulary-sized buffer is allocated. Per row: the weights (powers of two), block sums, one
    random number, and for some rows part or all of one more pass; no sort, no noise vector. A
    row's draw never depends on the other rows of its batch."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float, prompt_len: int, top_k: int = -1):
        self.seeds, self.temperature, self.top_p, self.prompt_len, self.top_k = seeds, temperature, top_p, prompt_len, top_k

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.prompt_len
        # `generate` hands over a float32 copy of the logits that nothing else reads.
        probs = scores if scores.dtype == torch.float32 else scores.float()
        # Unnormalised weights exp((logit - peak) / temperature), computed as powers of two (exp2 is
        # about 4x faster than exp here), each at least 2^-100: the floor adds less than
        # 152064 * 2^-100 < 2e-25 of the mass, and keeps every weight a normal float (subnormal
        # ones make each later pass over the vocabulary ~20x slower).
        scale = LOG2_E / self.temperature
        torch.add(probs.amax(-1, keepdim=True) * -scale, probs, alpha=scale, out=probs)
        probs.clamp_(min=-100.0).exp2_()
        vocab = probs.shape[-1]
        if 0 < self.top_k < vocab:
            kth = torch.topk(probs, self.top_k, dim=-1).values[..., -1:]
            probs.masked_fill_(probs < kth, 0.0)
        generators = [torch.Generator().manual_seed((seed * 1_000_003 + step) % (1 << 63)) for seed in self.seeds]

        def uniform(rows: list[int]) -> torch.Tensor:
            return torch.tensor([torch.rand(1, generator=generators[r], dtype=torch.float64).item() for r in rows], dtype=torch.float64)

        sums = per_block(probs, torch.sum)
        chosen, totals = invert_cdf(probs, uniform(list(range(len(self.seeds)))), sums)
        if self.top_p < 1.0:
            accept = self._in_nucleus(probs, chosen, totals, sums)
            for r in (~accept).nonzero().flatten().tolist():  # rare: draw again from the same generator
                row, total = probs[r : r + 1], totals[r : r + 1]
                while True:
                    drawn, _ = invert_cdf(row, uniform([r]), sums[r : r + 1])
                    if bool(self._in_nucleus(row, drawn, total, sums[r : r + 1])):
                        chosen[r] = drawn[0]
                        break
        # The drawn token becomes the only infinite score, so `generate`'s argmax takes it.
        scores[torch.arange(len(self.seeds), device=scores.device), chosen.to(scores.device)] = float("inf")
        return scores

    def _in_nucleus(self, probs: torch.Tensor, drawn: torch.Tensor, totals: torch.Tensor, sums: torch.Tensor) -> torch.Tensor:
        """Whether each row's drawn token is in its top-p nucleus: the mass of strictly more likely
        tokens is at most top_p of the total, that is, the mass at or below the token's weight is
        at least (1 - top_p) of it. Certain without a pass over the vocabulary when the token's own
        weight is that large (most draws from a confident model); else certain when the first
        NUCLEUS_PREFIX_BLOCKS blocks already hold that much mass at or below it (their block sums
        minus the weights above it, which `threshold` keeps: a tenth of the vocabulary, enough for
        most draws from a flat distribution); else decided by the same sum over the whole row."""
        own = probs.gather(1, drawn.unsqueeze(-1)).squeeze(-1)
        needed = (1.0 - self.top_p) * totals
        inside = own.double() >= needed
        unsure = (~inside).nonzero().flatten().tolist()
        if not unsure:
            return inside
        prefix = NUCLEUS_PREFIX_BLOCKS * INVERSION_BLOCK
        levels, prefix_mass = own.tolist(), sums[:, :NUCLEUS_PREFIX_BLOCKS].sum(-1).tolist()
        for r in unsure:
            above = torch.nn.functional.threshold(probs[r, :prefix], levels[r], 0.0).sum().item()
            if prefix_mass[r] - above >= needed[r].item():
                inside[r] = True
                continue
            if prefix < probs.shape[-1]:
                above = torch.nn.functional.threshold(probs[r], levels[r], 0.0).sum().item()
            inside[r] = above <= self.top_p * totals[r].item()
        return inside


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

