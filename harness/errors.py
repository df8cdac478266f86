"""The harness's user-facing error type. It lives with the tasks (the bottom layer, which raises it
too); this module re-exports it for the layers above."""

from tasks.errors import HarnessError

__all__ = ["HarnessError"]
