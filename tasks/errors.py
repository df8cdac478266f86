"""One exception type for problems the user can fix; the CLI prints its message on one line."""


class HarnessError(Exception):
    """Bad input or state: unknown task, missing folder, corrupt store, ... The message names
    the problem in one line and, where useful, what to do about it."""
