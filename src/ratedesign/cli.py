"""``ratedesign`` command line: ``run`` one scenario entry, ``study`` whole chains, ``demo``, ``synth``.

Errors in inputs print one line ``ratedesign: error: <message>`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from runfleet import RunfleetError, add_cluster_argument, add_storage_option_argument, storage_options_from

from ratedesign.errors import InputError

log = logging.getLogger("ratedesign")


__all__ = ["build_parser", "cmd_demo", "cmd_run", "cmd_study", "cmd_synth", "demo_next_steps", "main",
           "plan_chains", "print_results", "run_chains"]


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
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in cfg.run_name) or "run"
    study = Study(name=f"ratedesign-{name}", store=store, seed=0, storage_options=so)
    study.add(Run(name, "ratedesign.runfn:cairo_run", params=params))
    cluster = None if args.cluster in (None, "local") else args.cluster
    summary = run_study(study, cluster=cluster, store=store,
                        workers=args.workers, progress=False)
    outcome = summary.outcomes.get(name)
    args.resumed = bool(getattr(outcome, "resumed", False))
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
    """``ratedesign run``: one scenario entry, its CAIRO-layout outputs written to ``--out``.

    Through runfleet (resumable, store ``OUT/.runfleet``) unless ``--cluster serial``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see :func:`build_parser`).

    Returns
    -------
    int
        Exit status: 0 all done, 1 some run failed or was skipped (2, 3, 4 are raised as errors and
        mapped by :func:`main`).
    """
    from ratedesign.scenario import load_scenario

    so = storage_options_from(args) or None
    extra = {}
    if args.chunk_size:
        extra["chunk_size"] = args.chunk_size
    cfg = load_scenario(args.scenarios, args.run, sets=args.set, map_prefix=args.map_prefix,
                        storage_options=so, extra=extra)
    out = args.out if "://" in args.out else os.path.abspath(args.out)
    # --cluster local | tcp://... | scheduler-file:... | NAME run through runfleet (resumable); serial
    # runs in this process without a store, so a bad input read by the run leaves nothing behind
    use_runfleet = args.cluster != "serial" and _runfleet_available()
    if use_runfleet:
        summary = _run_with_runfleet(cfg, out, args, so)
    else:
        summary = _run_with_client(cfg, out, args, so)
    from ratedesign.tables import run_summary_text

    print(run_summary_text(cfg.run_name, summary, getattr(args, "resumed", False), out))
    return 0


def cmd_synth(args) -> int:
    """``ratedesign synth``: synthetic ResStock-format loads, metadata and maps for a utility.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see :func:`build_parser`).

    Returns
    -------
    int
        Exit status: 0 all done, 1 some run failed or was skipped (2, 3, 4 are raised as errors and
        mapped by :func:`main`).
    """
    from ratedesign.synth import bldg_ids_from_map, synth_dataset

    so = storage_options_from(args) or None
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
    from ratedesign.examples import CUSTOMERS
    customers = args.customers if args.customers is not None else CUSTOMERS.get(args.utility, 451381.0)
    paths = synth_dataset(args.out, ids, state=args.state, utility=args.utility, upgrades=upgrades, seed=args.seed,
                          total_kwh=args.total_kwh, customers=customers, hp_ids=hp,
                          elec_tariff_key=args.elec_tariff_key, storage_options=so, wide=args.wide)
    print(f"ratedesign: synth: {paths.n_buildings} buildings, upgrades {','.join(upgrades)} -> {args.out}")
    print(f"weights: each building represents {customers / max(len(ids), 1):,.0f} of {customers:,.0f} customers "
          f"of {args.utility}; per-home kWh: typical for its building type and heating fuel"
          + (f" rescaled to --total-kwh {args.total_kwh:.3g}" if args.total_kwh else ""))
    print("use with: " + " ".join(f"--map-prefix {m}" for m in paths.map_prefix_args()))
    return 0


# ------------------------------------------------------------------------------------------ study
def _cluster_arg(name):
    return None if name in (None, "", "local") else name


def _expand(args, so):
    from ratedesign.chain import expand_files

    pipeline = False if args.no_pipeline else (args.pipeline or None)
    if args.pipeline and len(args.scenarios) > 1:
        raise InputError("--pipeline FILE applies to one scenario file; with several, put "
                         "pipeline_<utility>.yaml beside each scenarios file")
    if args.sample is not None and args.sample < 1:
        raise InputError(f"--sample {args.sample}: expected a positive number of buildings")
    return expand_files(args.scenarios, runs=args.runs, sample=args.sample, sets=args.set,
                        map_prefix=args.map_prefix, pipeline=pipeline, storage_options=so)


def plan_chains(chains, so=None, check_loads: str = "all") -> None:
    """Plan phase: report skipped entries (stderr, one line each) and check every input.

    Parameters
    ----------
    chains : list of ratedesign.chain.Chain
        The expanded chains.
    so : dict, optional
        fsspec storage options of the inputs.
    check_loads : {"all", "sample", "none"}
        Which load files' parquet footers are read (every one, at most 200 per directory, none).

    Raises
    ------
    PlanProblems
        When an input is unusable: exit 2, one line per problem naming file and field, nothing written.
    """
    from ratedesign.errors import PlanProblems
    from ratedesign.plan import check_chains

    for ch in chains:
        for sk in ch.skipped:
            print(f"ratedesign: skipped {sk.name}: {sk.reason}", file=sys.stderr, flush=True)
    problems = check_chains(chains, so, loads=check_loads)
    if problems:
        raise PlanProblems(problems)


def run_chains(chains, name: str, store: str, *, cluster=None, workers=None, so=None, progress=True):
    """Run the chains as one runfleet study (plan-time skips recorded as skipped runs).

    Parameters
    ----------
    chains : list of ratedesign.chain.Chain
        The expanded (and planned) chains.
    name : str
        The study name.
    store : str
        runfleet store (directory or URL).
    cluster : str or None
        ``--cluster`` value (None or ``local``: the embedded cluster).
    workers : int, optional
        Workers of the embedded cluster.
    so : dict, optional
        fsspec storage options (never recorded).
    progress : bool, default True
        Show runfleet's progress line.

    Returns
    -------
    runfleet.StudySummary
    """
    from runfleet import run_study

    from ratedesign.chain import build_study

    study = build_study(chains, name, store, storage_options=so)
    return run_study(study, cluster=_cluster_arg(cluster), store=store, workers=workers, progress=progress)


def print_results(chains, summary, args, so=None, show_table=True) -> None:
    """Print the per-run table and write ``--table-out`` and the study's rate plot.

    Parameters
    ----------
    chains : list of ratedesign.chain.Chain
        The chains that ran.
    summary : runfleet.StudySummary
        Their outcome.
    args : argparse.Namespace
        The command line (``table_out``).
    so : dict, optional
        fsspec storage options of the store.
    show_table : bool, default True
        Print the table (terminal width, never cut).

    Notes
    -----
    The plot of rates across the chain is ``<study>/plots/rate_levels.png`` ($/kWh by run).
    """
    from ratedesign.plots import plot_rate_levels
    from ratedesign.tables import format_table, table_rows, write_table

    rows = table_rows(chains, summary)
    if show_table:
        print(format_table(rows))
    if getattr(args, "table_out", None):
        print(f"table: {write_table(rows, args.table_out)}")
    try:
        plot_rate_levels(rows, f"{summary.study_url}/plots/rate_levels.png", so)
    except ImportError:  # matplotlib missing: the table says it all
        pass


def cmd_study(args) -> int:
    """``ratedesign study``: every entry of one or more scenario files as one runfleet study.

    Expansion and the plan phase (every input checked) come first; entries that cannot run are
    reported and recorded as skipped runs with their reason; ``--dry-run`` prints the plan only.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see :func:`build_parser`).

    Returns
    -------
    int
        Exit status: 0 all done, 1 some run failed or was skipped (2, 3, 4 are raised as errors and
        mapped by :func:`main`).
    """
    from ratedesign.chain import build_study, study_name
    from ratedesign.tables import check_table_out

    so = storage_options_from(args) or None
    chains = _expand(args, so)
    store = args.store if "://" in args.store else os.path.abspath(args.store)
    name = args.name or study_name(chains)
    n = sum(len(c.steps) for c in chains)
    check_table_out(args.table_out)
    plan_chains(chains, so, args.check_loads)
    if args.dry_run:
        from runfleet import plan_study

        from ratedesign.tables import explain_plan, format_plan, recorded_params

        study = build_study(chains, name, store, storage_options=so)
        rows = explain_plan(plan_study(study, store=store), {r.name: r.params for r in study.runs.values()},
                            recorded_params(store, name, so))
        print(format_plan(name, rows))
        return 0
    print(f"study: {name}", flush=True)
    print(f"ratedesign: {len(chains)} chain(s), {n} runs ({sum(len(c.scenario_steps) for c in chains)} scenario runs, "
          f"{n - sum(len(c.scenario_steps) for c in chains)} derivation steps) -> {store}/{name}", file=sys.stderr,
          flush=True)
    summary = run_chains(chains, name, store, cluster=args.cluster, workers=args.workers, so=so,
                         progress=not args.no_progress)
    print_results(chains, summary, args, so, show_table=args.table)
    c = summary.counts
    n_plan = sum(len(ch.skipped) for ch in chains)
    more = f" ({n_plan} at plan time)" if n_plan else ""
    print(f"{name}: {c.get('done', 0)} done, {c.get('failed', 0)} failed, {c.get('skipped', 0)} skipped{more}; "
          f"runfleet status {summary.study_url}; runfleet report {summary.study_url} --out {name}-report.html",
          file=sys.stderr)
    return summary.exit_code


def cmd_demo(args) -> int:
    """``ratedesign demo``: RI's chain (or ``--utilities``: the platform's scenario files) on synthetic loads.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see :func:`build_parser`).

    Returns
    -------
    int
        Exit status: 0 all done, 1 some run failed or was skipped (2, 3, 4 are raised as errors and
        mapped by :func:`main`).
    """
    import time

    from ratedesign import examples
    from ratedesign.chain import expand_file, study_name
    from ratedesign.tables import check_table_out

    check_table_out(args.table_out)
    data_dir = os.path.abspath(args.data_dir)
    store = args.store if "://" in args.store else os.path.abspath(args.store)
    t0 = time.perf_counter()
    if args.utilities:
        return _demo_platform(args, data_dir, store, t0)
    if examples.shared_available(args.shared):
        print(f"ratedesign demo: RI (rie), real tariffs/maps/revenue requirements from "
              f"{examples.ri_config_dir(args.shared)}; synthetic ResStock-format loads in {data_dir}", flush=True)
        if not os.path.exists(os.path.join(data_dir, "ri", ".complete")):
            print("ratedesign demo: generating synthetic loads for the 1,910 RI buildings (once; ~15-60 s)", flush=True)
        prep = examples.prepare_ri(data_dir, args.shared)
    else:
        print(f"ratedesign demo: ../shared not found ({examples.ri_config_dir(args.shared)}); running the built-in "
              f"synthetic example instead (utility 'demo', {args.example_buildings} buildings)", flush=True)
        prep = examples.prepare_synthetic_utility(data_dir, "demo", args.example_buildings)
    how = f"generated in {time.perf_counter() - t0:.0f} s" if prep.generated else "from an earlier run"
    print(f"ratedesign demo: loads for {prep.n_buildings:,} buildings (upgrades 00 and 02) {how}; "
          f"scenario file {prep.scenario}", flush=True)
    chain = expand_file(prep.scenario, map_prefix=prep.map_prefix, sample=args.sample, runs=args.runs)
    name = args.name or ("demo-" + study_name([chain]))
    print(f"study: {name}", flush=True)
    t1 = time.perf_counter()
    summary = run_chains([chain], name, store, cluster=args.cluster, workers=args.workers)
    print_results([chain], summary, args)
    c = summary.counts
    resumed = f" ({c['resumed']} already in the store, not re-run)" if c.get("resumed") else ""
    print(f"{name}: {c.get('done', 0)} done{resumed}, {c.get('failed', 0)} failed, {c.get('skipped', 0)} skipped in "
          f"{time.perf_counter() - t1:.0f} s")
    print(demo_next_steps(prep, args, name, store, summary.study_url))
    return summary.exit_code


def _demo_platform(args, data_dir: str, store: str, t0: float) -> int:
    """``demo --utilities all|u1,u2``: the real scenario files of the platform's utilities, one study."""
    import time

    from ratedesign import examples
    from ratedesign.chain import expand_files, study_name

    wanted = list(examples.PLATFORM_UTILITIES) if args.utilities == "all" else \
        [u.strip() for u in args.utilities.split(",") if u.strip()]
    for u in wanted:
        examples.platform_config_dir(u, args.shared)  # unknown utility -> exit 2
    if not examples.shared_available(args.shared):
        raise InputError(f"--utilities needs the platform's configs under {examples.shared_dir(args.shared)} "
                         f"(../shared/data/rate-design-platform); not found")
    print(f"ratedesign demo: {len(wanted)} utilities ({', '.join(wanted)}), their real scenario files; synthetic "
          f"ResStock-format loads in {data_dir}/platform", flush=True)
    preps = examples.prepare_platform(data_dir, wanted, args.shared, sample=args.sample)
    n_gen = sum(p.generated for p in preps)
    print(f"ratedesign demo: data for {sum(p.n_buildings for p in preps):,} buildings "
          f"({n_gen} utilities generated in {time.perf_counter() - t0:.0f} s)", flush=True)
    chains = expand_files([p.scenario for p in preps], runs=args.runs, sample=args.sample,
                          map_prefix=preps[0].map_prefix)
    name = args.name or ("demo-" + study_name(chains))
    plan_chains(chains, None, "all")
    print(f"study: {name}", flush=True)
    t1 = time.perf_counter()
    summary = run_chains(chains, name, store, cluster=args.cluster, workers=args.workers)
    print_results(chains, summary, args)
    c = summary.counts
    n_plan = sum(len(ch.skipped) for ch in chains)
    print(f"{name}: {c.get('done', 0)} done, {c.get('failed', 0)} failed, {c.get('skipped', 0)} skipped"
          f"{f' ({n_plan} at plan time)' if n_plan else ''} in {time.perf_counter() - t1:.0f} s; "
          f"runfleet status {summary.study_url}")
    return summary.exit_code


def _self_command() -> str:
    """How the user calls this CLI: ``ratedesign`` when that is on PATH, else its path."""
    import shutil

    argv0 = sys.argv[0]
    if os.path.basename(argv0) != "ratedesign":
        return f"{sys.executable} -m ratedesign.cli"
    exe = shutil.which("ratedesign")
    if exe and os.path.realpath(exe) == os.path.realpath(argv0):
        return "ratedesign"
    rel = os.path.relpath(argv0)
    return rel if os.sep in rel and not rel.startswith("..") else os.path.abspath(argv0)


def demo_next_steps(prep, args, name: str, store: str, study_url: str) -> str:
    """What the demo leaves, and how to run it again; writes the HTML report beside a local store.

    Parameters
    ----------
    prep : ratedesign.examples.Prepared
        The demo's generated inputs.
    args : argparse.Namespace
        The demo's command line.
    name : str
        The study name.
    store : str
        The runfleet store.
    study_url : str
        ``<store>/<name>``.

    Returns
    -------
    str
        Where the outputs, plots and report are, and the exact ``ratedesign study`` command that
        reruns the demo's scenario file (it resumes: nothing re-runs unless an input changed).
    """
    import shlex

    from runfleet import write_report

    cmd = [_self_command(), "study", prep.scenario, "--store", store, "--name", name]
    for m in prep.map_prefix:
        cmd += ["--map-prefix", m]
    if args.sample:
        cmd += ["--sample", str(args.sample)]
    if args.runs:
        cmd += ["--runs", str(args.runs)]
    if args.cluster:
        cmd += ["--cluster", args.cluster]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    local = "://" not in store
    report = os.path.join(store, f"{name}-report.html") if local else os.path.abspath(f"{name}-report.html")
    write_report(study_url, report)
    return "\n".join([
        f"outputs: CAIRO files of each run under {study_url}/runs/<run>/ (plots in runs/<run>/plots/, "
        f"rates across the chain in {study_url}/plots/rate_levels.png)",
        f"report:  {report}",
        f"status:  runfleet status {study_url}",
        "rerun or change the scenario file (edit a tariff and add --dry-run to see what would re-run):",
        "  " + (cmd[0] + " " + shlex.join(cmd[1:]) if cmd[0].startswith(sys.executable) else shlex.join(cmd)),
    ])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ratedesign`` (subcommands ``run``, ``study``, ``synth``, ``demo``).

    Returns
    -------
    argparse.ArgumentParser
    """
    p = argparse.ArgumentParser(prog="ratedesign", description="CAIRO-style rate design runs and the Bill Alignment Test")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one entry of a platform scenario YAML")
    r.add_argument("scenarios", help="scenario YAML with a runs: map (local or s3://)")
    r.add_argument("--run", required=True, help="entry key, or its 1-based position in runs:")
    r.add_argument("--out", required=True, help="output directory (local or s3://); receives the CAIRO files")
    add_cluster_argument(r)
    r.add_argument("--workers", type=int, default=None, help="workers of the local cluster")
    r.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a scenario field")
    r.add_argument("--map-prefix", action="append", default=[], metavar="OLD=NEW",
                   help="rewrite the start of every path field (repeatable)")
    add_storage_option_argument(r, json_alias=True)
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
    s.add_argument("--total-kwh", type=float, default=None,
                   help="rescale to this sum of weight x annual kWh, upgrade 00 (default: typical kWh per home)")
    s.add_argument("--customers", type=float, default=None,
                   help="EIA-861 residential customers (default: the utility's approximate count)")
    s.add_argument("--elec-tariff-key", default=None, help="tariff_key of the synthetic electric map "
                   "(default <utility>_default)")
    s.add_argument("--wide", action="store_true", help="write every ResStock end-use column (about 50), not only "
                   "the few a run reads")
    add_storage_option_argument(s, json_alias=True)
    s.set_defaults(fn=cmd_synth)
    st = sub.add_parser("study", help="run the chains of one or more scenario files as one runfleet study")
    st.add_argument("scenarios", nargs="+", help="scenario YAMLs (one utility each)")
    st.add_argument("--store", required=True, help="runfleet store (directory or s3://...)")
    add_cluster_argument(st)
    st.add_argument("--workers", type=int, default=None, help="workers of the local cluster")
    st.add_argument("--runs", default=None, help="scenario entries per file, by position or entry name: 1-16 "
                    "(every file), rie:1-8,coned:1-16 (per file; FILE = utility or file stem) (default: all); "
                    "runs they derive inputs from are added")
    st.add_argument("--check-loads", default="all", choices=("all", "sample", "none"),
                    help="plan phase: read the footer of every load file (all), of up to 200 per directory "
                         "(sample), or none")
    st.add_argument("--sample", type=int, default=None, help="deterministic sample of N buildings per utility")
    st.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a scenario field")
    st.add_argument("--map-prefix", action="append", default=[], metavar="OLD=NEW",
                    help="rewrite the start of every path field (repeatable)")
    st.add_argument("--pipeline", default=None, help="platform pipeline file giving the chain "
                    "(default: pipeline_<utility>.yaml beside the scenario file, if any)")
    st.add_argument("--no-pipeline", action="store_true", help="infer the chain even when a pipeline file exists")
    st.add_argument("--name", default=None, help="study name (default: rd-<utilities>)")
    add_storage_option_argument(st, json_alias=True)
    st.add_argument("--dry-run", action="store_true", help="print what would run and why; run nothing")
    st.add_argument("--table", action="store_true", help="print the per-run table at the end")
    st.add_argument("--table-out", default=None, metavar="FILE",
                    help="write the per-run table to FILE: .csv (one row per run, tariff and period) or .json")
    st.add_argument("--no-progress", action="store_true", help="no progress line")
    st.set_defaults(fn=cmd_study)
    d = sub.add_parser("demo", help="RI's 16-run chain on synthetic loads for the real RI sample")
    d.add_argument("--data-dir", default="demo-data", help="where synthetic loads are generated (default ./demo-data)")
    d.add_argument("--store", default="runs", help="runfleet store (default ./runs)")
    d.add_argument("--sample", type=int, default=None, help="deterministic sample of N buildings")
    d.add_argument("--runs", default=None, help="scenario entries, e.g. 1-4 (default: all 16)")
    add_cluster_argument(d)
    d.add_argument("--workers", type=int, default=None)
    d.add_argument("--name", default=None, help="study name (default: demo-rd-rie)")
    d.add_argument("--shared", default=None, help="the shared material directory (default: ../shared)")
    d.add_argument("--example-buildings", type=int, default=300, help="size of the built-in example")
    d.add_argument("--utilities", default=None, metavar="all|U1,U2",
                   help="run the real scenario files of the platform's utilities (all = the ten) as one study, "
                        "on synthetic loads for their real samples")
    d.add_argument("--table-out", default=None, metavar="FILE",
                   help="write the per-run table to FILE: .csv (one row per run, tariff and period) or .json")
    d.set_defaults(fn=cmd_demo)
    return p


def main(argv=None) -> int:
    """The ``ratedesign`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 all done; 1 a run failed or was skipped; 2 bad input (one line
        ``ratedesign: error: ...`` per problem, nothing written); 3 no cluster; 4 infrastructure lost.

    References
    ----------
    .. [1] README, "Exit codes"; ``docs/ratedesign.md``.
    """
    args = build_parser().parse_args(argv)
    if not args.verbose:  # before dask is imported: keep the terminal for progress and results
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        for name in ("distributed", "runfleet"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return args.fn(args)
    except InputError as e:
        for line in str(e).splitlines() or [""]:
            print(f"ratedesign: error: {line}", file=sys.stderr)
        return 2
    except RunfleetError as e:  # a bad --cluster profile or store (2), no cluster (3), infrastructure lost (4)
        print(f"ratedesign: error: {' '.join(str(e).split())}", file=sys.stderr)
        return e.exit_code
    except RuntimeError as e:
        print(f"ratedesign: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ratedesign: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
