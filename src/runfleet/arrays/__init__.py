"""Run a study as SLURM job arrays: no Dask cluster, no long-lived workers, no babysat driver.

A ``kind: slurm-array`` profile turns ``runfleet run STUDY --cluster NAME`` into waves of array
jobs. Each element runs a slice of the study's runs with runfleet's own executor (the same
markers, logs, attempt records, seeds and timeouts as on Dask, so outputs are byte-identical),
dependent runs go in later waves (``--dependency=afterany``), and a small final job per wave
resubmits retries and runs lost with their element. The store stays the truth: resume, content
keys and ``--dry-run`` behave as with Dask.

Modules: :mod:`.profile` (options model), :mod:`.planner` (waves), :mod:`.manifest` (records
under ``_arrays/``), :mod:`.slurm` (sbatch/squeue/scontrol/scancel), :mod:`.submitter`,
:mod:`.element` and :mod:`.finalize` (what the jobs run), :mod:`.driver` (submit), :mod:`.watch`
(wait, cancel, batch view), :mod:`.command` (the ``runfleet run`` route).
"""
from importlib import import_module

# imported on first use: array elements and final jobs (``python -m runfleet.arrays.element``)
# start faster without the driver's modules (pydantic, progress, config)
_LAZY = {"KIND": "profile", "SlurmArrayOptions": "profile", "cli_run": "command",
         **{name: "driver" for name in ("Submitted", "array_profile", "describe_waves", "submit_study")},
         **{name: "watch" for name in ("batch_line", "batch_view", "cancel_study", "store_counts", "wait_study")}}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["KIND", "SlurmArrayOptions", "Submitted", "array_profile", "batch_line", "batch_view", "cancel_study",
           "cli_run", "describe_waves", "store_counts", "submit_study", "wait_study"]
