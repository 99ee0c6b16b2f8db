"""runfleet: run fleets of chained scenario runs and simulations on Dask, resumable from the store.

Public API (see docs/core-api.md): Study, Run, grid, zip_params, load_study, run_study,
plan_study, open_fleet, Fleet, RunOutcome, RunContext, Store, InputError, study_status, map,
results.
"""
from .context import RunContext
from .engine import Fleet, RunOutcome, StudySummary, open_fleet, plan_study, run_study
from .errors import InputError
from .mapping import map  # noqa: A004 - runfleet.map is the store-backed client.map
from .results import results
from .status import study_status
from .store import Store
from .study import RetryPolicy, Run, Study, grid, zip_params
from .studyfile import load_study

__version__ = "0.1.0"

__all__ = ["Fleet", "InputError", "RetryPolicy", "Run", "RunContext", "RunOutcome", "Store", "Study",
           "StudySummary", "grid", "load_study", "map", "results", "study_status", "open_fleet", "plan_study", "run_study", "zip_params"]
