"""Errors that carry a message meant for the user (the CLI prints them as one line, exit 2).

They subclass runfleet's :class:`runfleet.InputError` (bad input, exit code 2), so any runfleet
front end reports them the same way, and ``ValueError`` for callers that caught that before.
"""

from __future__ import annotations

from runfleet import InputError


class CholeraError(InputError, ValueError):
    """Bad input to the cholera calibration: a priors file, a location, a setting."""


class ConfigError(CholeraError):
    """A calibration setting, an R ``config`` list or an R ``priors`` list is invalid.

    The message is one line naming the source and the field and what was expected; it never
    repeats a text value (storage options and paths can hold secrets), only numbers.
    """


class PriorsError(CholeraError):
    """A priors file or mapping is invalid; the message names the source and the field."""


class UnknownLocationError(CholeraError):
    """A location code is not in the model's parameter set."""
