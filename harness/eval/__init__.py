"""`harness eval` and `harness score`: which columns a run is scored on (`columns`), the evaluation
of every stage on every column (`evaluate`), scoring responses made elsewhere (`score`), and
lm-evaluation-harness tasks as columns (`lmeval_bridge`, `lmeval_names`)."""
