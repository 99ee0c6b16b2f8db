"""``runfleet clusters`` and ``runfleet preflight`` (argparse subcommands).

Hook into the main CLI with ``cli_clusters.add_subcommands(subparsers)``; each subcommand sets
``func`` (``args.func(args) -> int`` exit code). Exit codes: 0 ok, 1 preflight found problems,
2 configuration error (one line on stderr), 3 the cluster could not be obtained (one line).

``runfleet clusters --show NAME`` prints the resolved profile: every option with where its value
came from (site config = Dask's configuration, profile, default), secrets masked, walltime as
``HH:MM:SS``. ``runfleet clusters --job-script NAME`` prints the exact batch script of a job
(jobqueue kinds) or the launch configuration (cloud kinds) without submitting anything.
Also runnable alone: ``python -m runfleet.cli_clusters clusters``.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import yaml

from .cliargs import add_cluster_argument, add_storage_option_argument, cli_main, storage_options_from
from .config import (CONFIG_ENV_VAR, KINDS, ConfigError, find_config_path, hms, load_profiles, looks_secret,
                     parse_walltime_s)
from .errors import ClusterUnavailable
from .storage_options import parse_storage_options  # noqa: F401 - re-exported for callers


# --------------------------------------------------------------------------- helpers
def _redact(obj: Any, key: str = "") -> Any:
    if isinstance(obj, dict):
        return {k: _redact(v, str(k)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact(v, key) for v in obj]
    if key and looks_secret(key) and obj not in (None, "", [], {}):
        return "***"
    return obj


def _adapt_text(p) -> str:
    return f"{p.adapt.minimum}..{p.adapt.maximum}" if p.adapt else "fixed"


def _source_text(p) -> str:
    return p.source


def _config_header() -> str:
    try:
        path = find_config_path()
    except ConfigError:
        raise
    if path is None:
        return f"config: none (looked at ${CONFIG_ENV_VAR}, ./runfleet.yaml, user config dir); built-in profiles only"
    how = f"${CONFIG_ENV_VAR}" if os.environ.get(CONFIG_ENV_VAR) else "found"
    return f"config: {path} ({how})"


def _mask_env(env: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if looks_secret(k) else v) for k, v in env.items()}


def show_profile(p) -> str:
    """The resolved profile as YAML: values (secrets masked, walltime HH:MM:SS) and their origins."""
    options = {}
    for key, value in p.options.items():
        if key == "walltime":
            value = hms(parse_walltime_s(value, p.where("walltime")))
        options[key] = _redact(value, key)
    origins = dict(p.origins)
    doc = {"name": p.name, "kind": p.kind, "from": p.source,
           "adapt": {"minimum": p.adapt.minimum, "maximum": p.adapt.maximum, **p.adapt.knobs()} if p.adapt else None,
           "options": options,
           "origin": {k: origins.get(k, "default") for k in [*p.options, "adapt"]},
           "env": {"forward": list(p.env.forward), "set": sorted(p.env.set),
                   "pythonpath": list(p.env.pythonpath)}}
    if p.aws_profile:
        doc["aws_profile"] = p.aws_profile
    return yaml.safe_dump(doc, sort_keys=False).rstrip()


def job_script_text(p) -> str:
    """What ``--job-script`` prints: the backend's ``preview`` (batch script or launch config).

    The worker environment is the profile's (forwarded values read from this shell); secret
    values never appear: batch scripts source a 0600 file (not written here), launch configs
    show ``***``.
    """
    import importlib

    from .clusters import worker_environment

    module = importlib.import_module(KINDS[p.kind].target.partition(":")[0])
    preview = getattr(module, "preview", None)
    if preview is None:
        return f"# kind {p.kind}: runfleet submits no job script or launch configuration for this kind"
    try:
        env = worker_environment(p)
    except ConfigError:
        env = p.env.resolve()
    try:
        return preview(p, env).rstrip()
    except ImportError as e:
        raise ClusterUnavailable(f"{p.where('kind')}: kind {p.kind} needs {KINDS[p.kind].install} "
                                 f"({type(e).__name__}: {e})") from None


# --------------------------------------------------------------------------- commands
def cmd_clusters(args: argparse.Namespace) -> int:
    try:
        profiles = load_profiles(args.config)
        header = f"config: {args.config}" if args.config else _config_header()
    except ConfigError as e:
        print(f"runfleet: error: {e}", file=sys.stderr)
        return 2
    if args.show or args.job_script:
        name = args.show or args.job_script
        p = profiles.get(name)
        if p is None:
            print(f"runfleet: error: clusters.{name}: no such profile; known: {', '.join(sorted(profiles))}",
                  file=sys.stderr)
            return 2
        print(show_profile(p) if args.show else job_script_text(p))
        return 0
    rows = [("NAME", "KIND", "ADAPT", "ENV", "FROM")]
    for name in sorted(profiles):
        p = profiles[name]
        env_bits = [*p.env.forward, *(f"{k}=…" for k in p.env.set)]
        if p.env.pythonpath:
            env_bits.append(f"pythonpath+{len(p.env.pythonpath)}")
        rows.append((name, p.kind, _adapt_text(p), " ".join(env_bits) or "-", _source_text(p)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(header)
    for r in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    return 0


def cmd_preflight(args: argparse.Namespace) -> int:
    from .clusters import open_cluster
    from .preflight import run_preflight

    from .clusters import resolve_cluster

    so = storage_options_from(args)
    profile = resolve_cluster(args.cluster, args.config)
    if profile == "serial":
        raise ConfigError("--cluster serial: preflight checks workers of a Dask cluster; serial has none")
    env_names = list(profile.env.exact_names()) if profile else []
    env_names += [n for n in (args.env or []) if n not in env_names]
    name = profile.name if profile else "local (embedded)"
    print(f"preflight: cluster {name}" + (f" ({profile.kind}, from {profile.source})" if profile else ""))
    session = open_cluster(profile, workers=args.workers)  # ClusterUnavailable: one line, exit 3
    try:
        try:
            session.ensure_workers(1, timeout=args.timeout)
        except Exception as e:  # noqa: BLE001
            raise ClusterUnavailable(f"cluster {name}: no worker joined within {args.timeout:g} s "
                                     f"({type(e).__name__}); check the backend's logs and that workers can "
                                     "reach the scheduler") from None
        report = run_preflight(session.client, store_url=args.store, storage_options=so,
                               modules=args.module or (), env_names=env_names, wait_s=args.timeout,
                               secret_env=session.task_env())
    finally:
        session.close()
    print(report.format_table())
    return 0 if report.ok else 1


def add_subcommands(subparsers) -> None:
    """Add ``clusters`` and ``preflight`` to an argparse subparsers object."""
    p = subparsers.add_parser("clusters", help="list cluster profiles (no secrets shown)",
                              description="List the cluster profiles: name, kind, adapt range, env names, "
                                          "and the file each comes from.")
    p.add_argument("--config", help=f"profiles file (default: ${CONFIG_ENV_VAR}, ./runfleet.yaml, user config dir)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--show", metavar="NAME", help="print one profile's resolved options, where each value "
                     "came from (site config, profile, default), secrets masked")
    how.add_argument("--job-script", metavar="NAME", help="print the batch script a job of this profile would run "
                     "(jobqueue kinds) or its launch configuration (cloud kinds); submits nothing")
    p.set_defaults(func=cmd_clusters)

    q = subparsers.add_parser("preflight", help="check workers: imports/versions, store read/write, env",
                              description="On every worker of the cluster: key packages import with the "
                                          "driver's versions, the store is readable and writable, forwarded "
                                          "env vars are set. Exit 1 with the cause when not.")
    add_cluster_argument(q)
    q.add_argument("--store", metavar="URL", help="store to check (local path or s3://bucket/prefix)")
    add_storage_option_argument(q)
    q.add_argument("--module", metavar="NAME", action="append", help="extra module that must import (repeat)")
    q.add_argument("--env", metavar="NAME", action="append", help="extra variable that must be set (repeat)")
    q.add_argument("--workers", type=int, help="worker count override for backends that start workers")
    q.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a worker (default 120)")
    q.add_argument("--config", help="profiles file")
    q.set_defaults(func=cmd_preflight)


def main(argv: list[str] | None = None) -> int:
    from .cliargs import Parser

    parser = Parser(prog="runfleet")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_subcommands(sub)

    def run() -> int:
        args = parser.parse_args(argv)
        return args.func(args)

    return cli_main("runfleet", run)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
