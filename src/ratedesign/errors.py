"""Errors raised for bad inputs.

Every message names the file (or scenario field) and says what was expected, so the
CLI can print one line ``ratedesign: error: <message>`` and exit 2.
"""

from runfleet import InputError as _RunfleetInputError


class InputError(_RunfleetInputError, ValueError):
    """An input file or scenario field is missing or malformed (exit 2, like runfleet's)."""
