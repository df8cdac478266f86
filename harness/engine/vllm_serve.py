"""`python -m harness.engine.vllm_serve ARGS…`: vLLM's OpenAI-compatible server (the arguments of
`vllm.entrypoints.openai.api_server`) with, where torchvision does not import (vLLM's CPU build),
the image-only Qwen2.5-VL hook installed first in this process and every process it starts
(`harness.engine.image_only_vl`), and videos refused. Elsewhere it is vLLM's server as it is."""

from __future__ import annotations

import runpy
import sys


def main() -> None:
    from harness.engine.image_only_vl import install_everywhere

    args = sys.argv[1:]
    if install_everywhere():
        if not any(a.startswith("--limit-mm-per-prompt") for a in args):
            args += ["--limit-mm-per-prompt", '{"video": 0}']
    sys.argv = ["vllm.entrypoints.openai.api_server", *args]
    runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
