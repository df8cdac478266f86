"""Above the harness library: the reference trainer (`train`, with every method in `methods` and
their configs in `stage_configs`), the tiny models it trains (`tiny_model`, `instruct_base`,
`release_model`), and the experiments built from both (`demo`, `lab`)."""
