"""runfleet: run fleets of chained scenario runs and simulations on Dask, resumable from the store.

The public API (docs/core-api.md) is what this package exports; workloads (``ratedesign``,
``cholera``) import from ``runfleet`` only, never from its submodules (tests/test_layers.py).

- Studies: :class:`Study`, :class:`Run`, :func:`grid`, :func:`zip_params`, :func:`load_study`,
  :class:`RetryPolicy`.
- Running: :func:`run_study`, :func:`map` (store-backed ``client.map``), :func:`plan_study`, :func:`open_fleet`, :class:`Fleet`,
  :class:`RunOutcome`, :class:`StudySummary`, :class:`RunContext`, :class:`Progress`.
- The store: :class:`Store`, :func:`parse_storage_options`, :func:`run_dir`, :class:`RunRecord`, :func:`store_errors`,
  :func:`study_status`, :func:`results` (a study as a DataFrame),
  :func:`write_report` (static HTML report).
- Files: :func:`read_yaml_file`, :func:`yaml_problem`.
- CLIs (the same options in every workload's CLI): :func:`add_cluster_argument`,
  :func:`add_storage_option_argument`, :func:`storage_options_from`, :func:`cluster_from`.
- Errors: :class:`RunfleetError` and its subclasses (:mod:`runfleet.errors`).
"""
from .context import RunContext
from .engine import Fleet, RunOutcome, StudySummary, open_fleet, plan_study, run_study
from .errors import (ClusterUnavailable, CommandFailed, InfrastructureLost, InputError, LostWorker, OutOfMemory,
                     PreflightFailed, RunError, RunfleetError, RunTimeout, SchedulerLost, StoreUnavailable,
                     UnstorableResult)
from .ledger import RunRecord, run_dir, run_relpath
from .progress import Progress
from .mapping import map  # noqa: A004 - runfleet.map is the store-backed client.map
from .report import write_report
from .results import results
from .status import study_params, study_status
from .cliargs import add_cluster_argument, add_storage_option_argument, cluster_from, storage_options_from
from .storage_options import parse_storage_options
from .store import Store, store_errors
from .study import After, RetryPolicy, Run, Study, grid, zip_params
from .studyfile import load_study
from .yamlfile import read_yaml_file, yaml_problem

__version__ = "0.1.0"

__all__ = ["After", "ClusterUnavailable", "add_cluster_argument", "add_storage_option_argument", "cluster_from",
           "storage_options_from", "CommandFailed", "Fleet", "InfrastructureLost", "InputError", "LostWorker",
           "OutOfMemory", "PreflightFailed", "Progress", "RetryPolicy", "Run", "RunContext", "RunError",
           "RunOutcome", "RunRecord", "RunTimeout", "RunfleetError", "SchedulerLost", "Store", "StoreUnavailable",
           "Study", "StudySummary", "UnstorableResult", "grid", "load_study", "map", "open_fleet", "parse_storage_options",
           "plan_study", "read_yaml_file", "results", "run_dir", "run_relpath", "run_study", "store_errors", "study_params", "study_status", "write_report", "yaml_problem", "zip_params"]
