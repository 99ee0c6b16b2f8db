"""``ratedesign`` command line: ``run`` one scenario entry, ``synth`` a dataset.

Errors in inputs print one line ``ratedesign: error: <message>`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from ratedesign.errors import InputError

log = logging.getLogger("ratedesign")


def _storage_options(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        so = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"--storage-options: not valid JSON ({e})") from None
    if not isinstance(so, dict):
        raise InputError("--storage-options: expected a JSON object")
    return so


def _runfleet_available() -> bool:
    try:
        from runfleet import Run, Study, run_study  # noqa: F401
    except Exception:  # noqa: BLE001 - any import problem means: fall back
        return False
    return True


def _run_with_runfleet(cfg, out: str, args, so) -> dict:
    """One-run runfleet study (store ``OUT/.runfleet`` unless --store); the run writes the CAIRO
    files straight into ``out``; a re-run with the same inputs resumes from the store."""
    from runfleet import Run, Study, run_study

    store = args.store or (out.rstrip("/") + "/.runfleet")
    params = cfg.to_params()
    params["output_dir"] = out
    params["output_storage_options"] = so
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in cfg.run_name) or "run"
    study = Study(name=f"ratedesign-{name}", store=store, seed=0)
    study.add(Run(name, "ratedesign.runfn:cairo_run", params=params))
    cluster = None if args.cluster in (None, "local") else args.cluster
    summary = run_study(study, cluster=cluster, store=store, storage_options=so if "://" in store else None,
                        workers=args.workers, progress=False)
    outcome = summary.outcomes.get(name)
    if summary.exit_code != 0 or outcome is None or outcome.status != "done":
        cls = getattr(outcome, "error_class", None)
        msg = getattr(outcome, "error", None) or f"see {summary.study_url}/runs/{name}/_error.json"
        if cls == "InputError":
            raise InputError(str(msg).strip().splitlines()[-1] if msg else "run failed")
        raise RuntimeError(f"run {name} failed: {cls}: {msg}")
    return outcome.value or {}


def _run_with_client(cfg, out: str, args, so) -> dict:
    """Fallback without runfleet: a plain LocalCluster (or an existing scheduler address)."""
    from distributed import Client, LocalCluster

    from ratedesign.mappers import client_mapper, serial_mapper
    from ratedesign.runfn import run_to_dir

    if args.cluster == "serial":
        return run_to_dir(cfg, out, serial_mapper, 1, so)
    if args.cluster and "://" in args.cluster:
        with Client(args.cluster) as c:
            n = sum(w["nthreads"] for w in c.scheduler_info()["workers"].values())
            return run_to_dir(cfg, out, client_mapper(c), n, so)
    n = args.workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, Client(lc) as c:
        return run_to_dir(cfg, out, client_mapper(c), n, so)


def cmd_run(args) -> int:
    from ratedesign.scenario import load_scenario

    so = _storage_options(args.storage_options)
    extra = {}
    if args.chunk_size:
        extra["chunk_size"] = args.chunk_size
    cfg = load_scenario(args.scenarios, args.run, sets=args.set, map_prefix=args.map_prefix,
                        storage_options=so, extra=extra)
    out = args.out if "://" in args.out else os.path.abspath(args.out)
    use_runfleet = args.cluster != "serial" and not (args.cluster and "://" in args.cluster) and _runfleet_available()
    if use_runfleet:
        summary = _run_with_runfleet(cfg, out, args, so)
    else:
        summary = _run_with_client(cfg, out, args, so)
    print(f"ratedesign: {cfg.run_name}: {summary.get('n_buildings', '?')} buildings, "
          f"RR ${summary.get('revenue_requirement', float('nan')):,.0f}, "
          f"marginal cost ${summary.get('total_marginal_cost', float('nan')):,.0f}, "
          f"residual ${summary.get('residual', float('nan')):,.0f}; outputs in {out}")
    return 0


def cmd_synth(args) -> int:
    from ratedesign.synth import bldg_ids_from_map, synth_dataset

    so = _storage_options(args.storage_options)
    hp = None
    if args.bldg_ids_from:
        ids, hp_from_map = bldg_ids_from_map(args.bldg_ids_from)
        hp = hp_from_map if args.hp_from is None else None
    elif args.n_buildings:
        ids = list(range(args.first_id, args.first_id + args.n_buildings))
    else:
        raise InputError("synth: give --bldg-ids-from MAP.csv or --n-buildings N")
    if args.hp_from:
        _, hp = bldg_ids_from_map(args.hp_from)
    if args.limit:
        ids = ids[: args.limit]
    upgrades = [u.strip() for u in args.upgrades.split(",") if u.strip()]
    paths = synth_dataset(args.out, ids, state=args.state, utility=args.utility, upgrades=upgrades, seed=args.seed,
                          total_kwh=args.total_kwh, customers=args.customers, hp_ids=hp,
                          elec_tariff_key=args.elec_tariff_key, storage_options=so)
    print(f"ratedesign: synth: {paths.n_buildings} buildings, upgrades {','.join(upgrades)} -> {args.out}")
    print("use with: " + " ".join(f"--map-prefix {m}" for m in paths.map_prefix_args()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ratedesign", description="CAIRO-style rate design runs and the Bill Alignment Test")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one entry of a platform scenario YAML")
    r.add_argument("scenarios", help="scenario YAML with a runs: map (local or s3://)")
    r.add_argument("--run", required=True, help="entry key, or its 1-based position in runs:")
    r.add_argument("--out", required=True, help="output directory (local or s3://); receives the CAIRO files")
    r.add_argument("--cluster", default=None,
                   help="runfleet cluster profile (default: embedded local cluster); 'serial' = in-process; "
                        "tcp://... = an existing scheduler")
    r.add_argument("--workers", type=int, default=None, help="workers of the local cluster")
    r.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a scenario field")
    r.add_argument("--map-prefix", action="append", default=[], metavar="OLD=NEW",
                   help="rewrite the start of every path field (repeatable)")
    r.add_argument("--storage-options", default=None, help="JSON storage_options for s3:// inputs and outputs")
    r.add_argument("--chunk-size", type=int, default=None, help="buildings per chunk")
    r.add_argument("--store", default=None, help="runfleet store (default: OUT/.runfleet)")
    r.set_defaults(fn=cmd_run)
    s = sub.add_parser("synth", help="write a synthetic ResStock-format dataset")
    s.add_argument("--out", required=True, help="dataset root (local or s3://)")
    s.add_argument("--bldg-ids-from", default=None, help="tariff map CSV whose bldg_ids to use")
    s.add_argument("--hp-from", default=None, help="tariff map CSV marking heat-pump buildings (tariff_key with 'hp')")
    s.add_argument("--n-buildings", type=int, default=None)
    s.add_argument("--first-id", type=int, default=100001)
    s.add_argument("--limit", type=int, default=None, help="use only the first N bldg_ids")
    s.add_argument("--state", default="RI")
    s.add_argument("--utility", default="rie")
    s.add_argument("--upgrades", default="00,02")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--total-kwh", type=float, default=3.17e9, help="sum of weight x annual kWh, upgrade 00")
    s.add_argument("--customers", type=float, default=451381.0, help="EIA-861 residential customers")
    s.add_argument("--elec-tariff-key", default="rie_default", help="tariff_key of the synthetic electric map")
    s.add_argument("--storage-options", default=None, help="JSON storage_options for s3://")
    s.set_defaults(fn=cmd_synth)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        for name in ("distributed", "runfleet"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return args.fn(args)
    except InputError as e:
        print(f"ratedesign: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        print(f"ratedesign: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
