"""``runfleet clusters`` and ``runfleet preflight`` (argparse subcommands).

Hook into the main CLI with ``cli_clusters.add_subcommands(subparsers)``; each subcommand sets
``func`` (``args.func(args) -> int`` exit code). Exit codes: 0 ok, 1 preflight failed or the
cluster could not be reached, 2 configuration error (one line on stderr).
Also runnable alone: ``python -m runfleet.cli_clusters clusters``.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import yaml

from .config import CONFIG_ENV_VAR, ConfigError, find_config_path, load_profiles, looks_secret
from .store import parse_storage_options


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


# --------------------------------------------------------------------------- commands
def cmd_clusters(args: argparse.Namespace) -> int:
    try:
        profiles = load_profiles(args.config)
        header = f"config: {args.config}" if args.config else _config_header()
    except ConfigError as e:
        print(f"runfleet: error: {e}", file=sys.stderr)
        return 2
    if args.show:
        p = profiles.get(args.show)
        if p is None:
            print(f"runfleet: error: clusters.{args.show}: no such profile; known: {', '.join(sorted(profiles))}",
                  file=sys.stderr)
            return 2
        doc = {"name": p.name, "kind": p.kind, "from": p.source,
               "adapt": {"minimum": p.adapt.minimum, "maximum": p.adapt.maximum} if p.adapt else None,
               "options": _redact(dict(p.options)),
               "env": {"forward": list(p.env.forward), "set": sorted(p.env.set),
                       "pythonpath": list(p.env.pythonpath)}}
        print(yaml.safe_dump(doc, sort_keys=False).rstrip())
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
    from .config import get_profile
    from .preflight import run_preflight

    try:
        so = parse_storage_options(args.storage_option)
        profile = get_profile(args.cluster, args.config) if args.cluster else None
    except ConfigError as e:
        print(f"runfleet: error: {e}", file=sys.stderr)
        return 2
    env_names = list(profile.env.exact_names()) if profile else []
    env_names += [n for n in (args.env or []) if n not in env_names]
    name = profile.name if profile else "local (embedded)"
    print(f"preflight: cluster {name}" + (f" ({profile.kind}, from {profile.source})" if profile else ""))
    try:
        session = open_cluster(profile, workers=args.workers)
    except ConfigError as e:
        print(f"runfleet: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - one clear line, not a traceback
        print(f"runfleet: error: cannot open cluster {name}: {type(e).__name__}: {str(e)[:300]}", file=sys.stderr)
        return 1
    try:
        try:
            session.ensure_workers(1, timeout=args.timeout)
        except Exception as e:  # noqa: BLE001
            print(f"runfleet: error: no worker joined cluster {name} within {args.timeout:g} s "
                  f"({type(e).__name__}); check the backend's logs and that workers can reach the scheduler",
                  file=sys.stderr)
            return 1
        report = run_preflight(session.client, store_url=args.store, storage_options=so,
                               modules=args.module or (), env_names=env_names, wait_s=args.timeout)
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
    p.add_argument("--show", metavar="NAME", help="print one profile's effective options (secrets redacted)")
    p.set_defaults(func=cmd_clusters)

    q = subparsers.add_parser("preflight", help="check workers: imports/versions, store read/write, env",
                              description="On every worker of the cluster: key packages import with the "
                                          "driver's versions, the store is readable and writable, forwarded "
                                          "env vars are set. Exit 1 with the cause when not.")
    q.add_argument("--cluster", metavar="NAME", help="profile name (default: the embedded local cluster)")
    q.add_argument("--store", metavar="URL", help="store to check (local path or s3://bucket/prefix)")
    q.add_argument("--storage-option", metavar="KEY=VALUE", action="append",
                   help="fsspec storage option for the store; dotted keys nest (client_kwargs.endpoint_url=...)")
    q.add_argument("--module", metavar="NAME", action="append", help="extra module that must import (repeat)")
    q.add_argument("--env", metavar="NAME", action="append", help="extra variable that must be set (repeat)")
    q.add_argument("--workers", type=int, help="worker count override for backends that start workers")
    q.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a worker (default 120)")
    q.add_argument("--config", help="profiles file")
    q.set_defaults(func=cmd_preflight)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="runfleet")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
