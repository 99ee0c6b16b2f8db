"""numpydoc docstrings on the public API: runfleet's ``__all__`` and every ratedesign module's ``__all__``.

Each public function and class is run through ``numpydoc.validate.validate`` (the validator behind
numpydoc's own linter); the test fails on a missing docstring (GL08), a parameter that is not
documented (PR01) or a documented parameter the signature does not have (PR02), listing every
offender with numpydoc's message.
"""
import importlib
import inspect
import pkgutil

import pytest
from numpydoc.validate import validate

import ratedesign
import runfleet

CHECKED_CODES = ("GL08", "PR01", "PR02")

PENDING_RUNFLEET: set[str] = set()  # names exempted from the check (none)


def _public(module, names):
    """(qualified name, object) for each function or non-exception class among ``names``."""
    out = []
    for name in names:
        obj = getattr(module, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue  # exceptions: one-line docstrings are the house style (runfleet.errors)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            out.append((f"{obj.__module__}.{obj.__qualname__}", obj))
    return out


def _runfleet_objects():
    return [(q, o) for q, o in _public(runfleet, runfleet.__all__) if o.__name__ not in PENDING_RUNFLEET]


def _ratedesign_objects():
    out = []
    for info in sorted(pkgutil.iter_modules(ratedesign.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"ratedesign.{info.name}")
        out += _public(mod, getattr(mod, "__all__", []))
    return out


def _problems(objects):
    problems = []
    for qualname, _ in objects:
        for code, message in validate(qualname)["errors"]:
            if code in CHECKED_CODES:
                problems.append(f"{qualname}: {code} {message}")
    return problems


def test_pending_names_are_public():
    """The allow-list names only objects runfleet exports (a rename must not hide an object)."""
    assert PENDING_RUNFLEET <= set(runfleet.__all__)


@pytest.mark.parametrize("package, collect", [("runfleet", _runfleet_objects), ("ratedesign", _ratedesign_objects)])
def test_public_api_has_numpydoc_docstrings(package, collect):
    objects = collect()
    assert objects, f"no public functions or classes found in {package}"
    problems = _problems(objects)
    assert not problems, "\n".join(problems)
