"""How lm-eval tasks are named as matrix columns, without importing lm-eval (an optional extra)."""

LMEVAL_PREFIX = "lm-eval:"


def is_lmeval_spec(spec: str) -> bool:
    """True for a column spec `lm-eval:NAME` (an lm-evaluation-harness task)."""
    return spec.strip().startswith(LMEVAL_PREFIX)
