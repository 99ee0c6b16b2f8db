"""The calibration's priors, stored once and referenced from every run by their content hash.

Every simulation needs the priors, but putting the mapping into each run's parameters copies it
into every run's content key computation, study-record row and task (10,000 copies of the same
mapping). Instead the driver writes the mapping once to
``<store>/<study>/inputs/priors-<sha256>.json`` and every run's ``priors`` parameter is the
reference ``"sha256:<hex>"`` (:func:`priors_reference`). The hash is of the mapping's canonical
JSON, so a changed prior is a changed parameter: the runs' content keys change and they re-run;
the same priors give the same reference, so a resume re-runs nothing.

A worker resolves a reference once per process (:func:`run_priors`): it reads the file next to
the run's own directory, checks its hash and parses it (scipy distributions frozen once).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Mapping

from runfleet import Store

from cholera.errors import CholeraError
from cholera.outputs import CalibrationFiles
from cholera.priors import Priors

__all__ = ["priors_reference", "store_priors", "run_priors", "PREFIX"]

#: the form of a reference: ``"sha256:" + 64 hex characters``
PREFIX = "sha256:"
INPUTS_DIR = "inputs"


def _canonical(mapping: Mapping) -> bytes:
    return json.dumps(mapping, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def priors_reference(priors: Priors) -> str:
    """The reference of ``priors``: ``"sha256:"`` and the sha256 of its canonical JSON mapping.

    Parameters
    ----------
    priors : cholera.priors.Priors
        Parsed priors.

    Returns
    -------
    str
        ``sha256:<64 hex characters>``; equal for equal mappings (key order does not matter).
    """
    return PREFIX + hashlib.sha256(_canonical(priors.to_dict())).hexdigest()


def _path(files: CalibrationFiles, reference: str) -> str:
    return f"{files.study_url}/{INPUTS_DIR}/priors-{reference[len(PREFIX):]}.json"


def store_priors(files: CalibrationFiles, priors: Priors) -> str:
    """Write ``priors`` once to ``<study>/inputs/priors-<sha256>.json``; return their reference.

    The file is content-addressed: an existing file (a resumed calibration) is left alone.

    Parameters
    ----------
    files : cholera.outputs.CalibrationFiles
        The calibration's files.
    priors : cholera.priors.Priors
        Parsed priors.

    Returns
    -------
    str
        The reference (:func:`priors_reference`) every run's ``priors`` parameter carries.
    """
    reference = priors_reference(priors)
    files.store.create_exclusive(_path(files, reference), _canonical(priors.to_dict()))
    return reference


@lru_cache(maxsize=8)
def _load(store_url: str, options_json: str, study: str, reference: str) -> Priors:
    files = CalibrationFiles(Store(store_url, json.loads(options_json)), study)
    path = _path(files, reference)
    data = files.store.read_bytes(path)
    if data is None:
        raise CholeraError(f"{path}: priors file missing (referenced by the run's params as {reference})")
    if PREFIX + hashlib.sha256(data).hexdigest() != reference:
        raise CholeraError(f"{path}: content does not match its hash {reference}")
    return Priors.from_dict(json.loads(data), source=path)


@lru_cache(maxsize=4)
def _parse(text: str) -> Priors:
    return Priors.from_dict(json.loads(text), source="run params.priors")


def run_priors(ctx, priors: Mapping | str) -> Priors:
    """The priors of a run, parsed once per worker process.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context (its ``out`` locates the study in the store).
    priors : dict or str
        A reference ``"sha256:..."`` (what :func:`cholera.calibrate.calibrate` submits) or the
        mapping itself (:meth:`cholera.priors.Priors.to_dict`; direct calls, older runs).

    Returns
    -------
    cholera.priors.Priors

    Raises
    ------
    CholeraError
        The referenced file is missing or does not match its hash, or ``priors`` is neither form.
    """
    if isinstance(priors, Mapping):
        return _parse(json.dumps(priors, sort_keys=True))
    if not (isinstance(priors, str) and priors.startswith(PREFIX)):
        raise CholeraError(f"run {ctx.name}: params.priors: expected a mapping or {PREFIX}<hex>, got {priors!r:.60}")
    files = CalibrationFiles.of_run(ctx)
    return _load(files.store.url, json.dumps(ctx.storage_options, sort_keys=True, default=str), files.name, priors)
