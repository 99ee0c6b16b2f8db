"""Exceptions that carry a user-facing message.

:class:`InputError` means the user's input is wrong (study file, store URL, CLI option). The CLI
prints its message as one line and exits with code 2; nothing has been written to the store.
"""


class InputError(Exception):
    """Bad input: one clear line naming the file, the field and what was expected."""


class RunTimeout(BaseException):
    """Raised inside a run's thread when it exceeds its ``timeout_s``.

    A BaseException so that a run's own ``except Exception`` blocks do not swallow it.
    """
