"""What the subcommands share: task lists from the command line, quieter libraries, TRL."""

from __future__ import annotations

import os

from harness.errors import HarnessError


def split_arg(text: str | None) -> list[str] | None:
    from tasks import split_specs

    if text is None:
        return None
    items = split_specs(text)
    if not items:
        raise HarnessError("empty task list")
    return items


def quiet_libraries() -> None:
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Two notices TRL's trainers trigger inside transformers on every stage; neither is ours to act on.
    warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated")
    warnings.filterwarnings("ignore", message=r"`max_length` is ignored when `padding`")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def require_trl() -> None:
    try:
        import trl  # noqa: F401
    except ImportError:
        raise HarnessError("training needs TRL: pip install -e '.[train]' (or '.[dev]')") from None
