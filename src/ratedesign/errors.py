"""Errors raised for bad inputs.

Every message names the file (or scenario field) and says what was expected, so the
CLI can print one line ``ratedesign: error: <message>`` and exit 2.

:class:`InputError` subclasses runfleet's :class:`runfleet.InputError` (exit code 2) and carries
``retryable = False``: a bad input fails the same way on every attempt, so an engine that honours
the attribute records the run as failed at once instead of retrying it.
"""

from runfleet import InputError as _RunfleetInputError


class InputError(_RunfleetInputError, ValueError):
    """An input file or scenario field is missing or malformed (exit 2; never retried)."""

    retryable = False


class PlanProblems(InputError):
    """Several input problems found by the plan phase, one line each (exit 2, nothing written).

    Parameters
    ----------
    problems : list of str
        One line per problem, each naming the file and the field.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
