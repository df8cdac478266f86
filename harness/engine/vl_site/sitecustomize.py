"""Started with every Python process whose environment `harness.engine.image_only_vl.child_environment`
made (vLLM's engine and inspection processes): installs the image-only Qwen2-VL hook there too."""

import os
import sys

if os.environ.get("CPT_HARNESS_IMAGE_ONLY_VL") == "1":
    try:
        from harness.engine.image_only_vl import install

        install()
    except Exception as e:  # never break the interpreter's start: say why and go on
        print(f"cpt-harness: the image-only Qwen2-VL hook was not installed ({type(e).__name__}: {e})", file=sys.stderr)
