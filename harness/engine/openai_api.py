"""The `openai` backend: any OpenAI-compatible chat-completions endpoint (`vllm serve` of a
stage checkpoint, or a hosted model), through the `openai` client library.

- Requests run `concurrency` at a time; finished ones are yielded in small groups, so the store
  keeps everything that came back before a kill or a failure.
- Retries: the client retries connection errors, timeouts, 408/409/429 and 5xx replies with
  exponential backoff (its own schedule, `max_retries` times); each request has a timeout.
  Anything else (a 4xx, a reply that is not the expected JSON) stops the run with one line.
- A reply cut by the server's token limit (`finish_reason: "length"`) is kept as it is and its id
  recorded in `truncated`; it is not retried.
- Images go as PNG data URLs, after the contract's image bounds (resized here, before encoding);
  a request without images sends its text as one string, the same text the `hf` backend
  templates for text-only models.
- Every decoding value of the contract is sent (`harness.engine.base.sampling_parameters`):
  `max_tokens`, `temperature`, `top_p`, `stop` and `seed` as OpenAI fields, `top_k`,
  `repetition_penalty` and `min_p` as the extra fields vLLM's server accepts, so a server never fills one from
  the checkpoint's `generation_config.json`. A server that rejects the extra fields is not one
  this backend can drive to the contract.
- The model name defaults to the checkpoint path, which is what `vllm serve PATH` serves; the
  server is asked up front which models it serves, so an unreachable server or an unserved model
  is one error before any request.
"""

from __future__ import annotations

import base64
import io
import os
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Iterator

from harness.engine.base import Backend, Request, chat_messages, contract_images, cut_at_stop, sampling_parameters
from harness.errors import HarnessError
from tasks.base import GenerationContract

YIELD_EVERY = 16  # finished responses handed to the store at a time


def _openai() -> Any:
    try:
        import openai
    except ImportError:
        raise HarnessError("the openai backend needs the `openai` package: pip install 'cpt-harness[openai]'") from None
    return openai


def _data_url_part(image: Any) -> dict[str, Any]:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")}}


def _first_line(e: BaseException) -> str:
    return next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)


def openai_request_fields(contract: GenerationContract, seed: int) -> dict[str, Any]:
    """`chat.completions.create` keyword arguments of one request's decoding: the OpenAI fields,
    and `top_k` / `repetition_penalty` in `extra_body` (module docstring)."""
    params = sampling_parameters(contract, seed)
    extra = {key: params.pop(key) for key in ("top_k", "repetition_penalty", "min_p")}
    params["stop"] = params["stop"] or None
    return {**params, "extra_body": extra}


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, model_path: str, base_url: str = "", model: str = "", api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, request_timeout: float = 120.0, max_retries: int = 4, **_: Any):
        openai = _openai()
        if not base_url:
            raise HarnessError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        self.base_url, self.model = base_url, model or model_path
        self.concurrency = max(1, int(concurrency))
        self.truncated: list[str] = []
        self.client = openai.OpenAI(
            base_url=base_url, api_key=os.environ.get(api_key_env) or "EMPTY",
            timeout=float(request_timeout), max_retries=int(max_retries),
        )
        try:
            served = [m.id for m in self.client.models.list()]
        except openai.APIConnectionError as e:
            raise HarnessError(f"cannot reach the server at {base_url} ({_first_line(e)}; retried {max_retries} times)") from None
        except openai.APIStatusError as e:
            raise HarnessError(f"the server at {base_url} refused the model list: HTTP {e.status_code} {_first_line(e)}") from None
        except (openai.APIResponseValidationError, ValueError, TypeError, AttributeError) as e:
            raise HarnessError(f"the server at {base_url} sent a malformed model list ({_first_line(e)})") from None
        if self.model not in served:
            raise HarnessError(f"the server at {base_url} does not serve model {self.model!r} (it serves: {', '.join(served) or 'nothing'}); give --model")

    def _messages(self, req: Request, contract: GenerationContract) -> list[dict[str, Any]]:
        return chat_messages(req, contract_images(req.images, contract), _data_url_part if req.images else None)

    def _one(self, req: Request, contract: GenerationContract) -> tuple[Request, str]:
        openai = _openai()
        kwargs = openai_request_fields(contract, req.seed)
        kwargs.update(model=self.model, messages=self._messages(req, contract))
        try:
            reply = self.client.chat.completions.create(**kwargs)
        except openai.APIConnectionError as e:
            raise HarnessError(f"sample {req.id}: the server at {self.base_url} stopped answering ({_first_line(e)})") from None
        except openai.NotFoundError as e:
            raise HarnessError(f"sample {req.id}: the server at {self.base_url} does not serve model {self.model!r} ({_first_line(e)})") from None
        except openai.APIStatusError as e:
            raise HarnessError(f"sample {req.id}: the server at {self.base_url} answered HTTP {e.status_code}: {_first_line(e)}") from None
        except (openai.APIResponseValidationError, ValueError, TypeError) as e:
            raise HarnessError(f"sample {req.id}: malformed reply from {self.base_url} ({_first_line(e)})") from None
        choices = getattr(reply, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            raise HarnessError(f"sample {req.id}: malformed reply from {self.base_url} (no choices)")
        text = choices[0].message.content
        if not isinstance(text, str):
            raise HarnessError(f"sample {req.id}: malformed reply from {self.base_url} (no message text)")
        if choices[0].finish_reason == "length":
            self.truncated.append(req.id)
        return req, cut_at_stop(text, contract.stop)

    def generate(self, requests: list[Request], contract: GenerationContract) -> Iterator[list[tuple[Request, str]]]:
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="openai")
        try:
            pending = {pool.submit(self._one, req, contract) for req in requests}
            finished: list[tuple[Request, str]] = []
            error: HarnessError | None = None
            while pending and error is None:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        finished.append(future.result())
                    except HarnessError as e:
                        error = error or e
                if finished and (error is not None or len(finished) >= YIELD_EVERY or not pending):
                    yield finished  # what came back is stored before a failure is raised
                    finished = []
            if error is not None:
                raise error
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def pop_truncated(self) -> list[str]:
        ids, self.truncated = self.truncated, []
        return ids

    def close(self) -> None:
        self.client.close()
