"""Errors that carry a message meant for the user (the CLI prints them as one line)."""

from __future__ import annotations

from runfleet import InputError


class CholeraError(InputError, ValueError):
    """Bad input to the cholera calibration: a priors file, a location, a setting."""


class PriorsError(CholeraError):
    """A priors file or mapping is invalid; the message names the source and the field."""


class UnknownLocationError(CholeraError):
    """A location code is not in the model's parameter set."""
