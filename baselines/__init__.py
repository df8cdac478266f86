"""Reference baselines: the embedded tiny model factory (and, later, the reference trainer)."""
