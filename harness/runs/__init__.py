"""Run folders and checkpoints: manifests and stage discovery (`checkpoints`), the folder layouts
of EasyR1 and LLaMA-Factory outputs (`layouts`), LoRA adapters (`adapters`), and what identifies a
checkpoint and a sample (`fingerprint`)."""
