"""Benchmark and evaluation harness for continual post-training of multimodal LLMs."""

__version__ = "0.1.0"
