"""Errors a user can cause. The CLI turns them into one line on stderr and an exit code; bugs still raise."""


class UserError(Exception):
    """Bad input or a refused operation: one clear line naming the input and what to do."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(UserError):
    """A command line that does not make sense (exit code 2)."""

    exit_code = 2
