"""Errors raised for bad inputs.

Every message names the file (or scenario field) and says what was expected, so the
CLI can print one line ``ratedesign: error: <message>`` and exit 2.
"""


class InputError(ValueError):
    """An input file or scenario field is missing or malformed."""
