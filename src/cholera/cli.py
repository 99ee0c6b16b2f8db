"""``cholera calibrate | summary | locations``.

Bad input (unknown location, non-positive sims, bad priors file, missing calibration) prints
one line ``cholera: error: <message>`` on stderr and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from cholera.config import DEFAULT_NAME

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        raise _BadInput(message)


class _BadInput(Exception):
    pass


def _int_at_least(minimum: int, what: str):
    """An argparse type: an integer >= ``minimum`` (``what`` names it in the error)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value
    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonneg_int = _int_at_least(0, "an integer >= 0")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cholera", description="Calibrate the laser-cholera model on runfleet.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("calibrate", help="run or resume a calibration")
    c.add_argument("--locations", required=True, help="comma-separated ISO3 codes, e.g. ETH,MOZ")
    c.add_argument("--sims", required=True, type=_positive_int, help="cap on the number of simulations")
    c.add_argument("--store", required=True, help="runfleet store: directory or URL (s3://bucket/prefix)")
    c.add_argument("--days", type=_positive_int, help="simulate only the first D days (default: all 1155)")
    c.add_argument("--seed", type=_nonneg_int, default=0, help="calibration seed (default 0)")
    c.add_argument("--cluster", help="runfleet cluster profile (default: embedded local cluster)")
    c.add_argument("--workers", type=_positive_int, help="worker processes (default: one per core)")
    c.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                   help="fsspec storage option (repeatable; dotted keys nest: client_kwargs.endpoint_url=...)")
    c.add_argument("--priors", help="priors YAML (default: the packaged default priors)")
    c.add_argument("--n-iter", type=_positive_int, default=3, help="stochastic iterations per simulation (default 3)")
    c.add_argument("--batch", type=_positive_int, default=100, help="simulations per batch (default 100)")
    c.add_argument("--ess-target", type=float, default=100.0, help="stop at this effective sample size (default 100)")
    c.add_argument("--top-k", type=_positive_int, default=20, help="size of the best-fit set (default 20)")
    c.add_argument("--patience", type=_nonneg_int, default=3,
                   help="stop when the best-fit set improved by < --tol over this many batches (0: off; default 3)")
    c.add_argument("--tol", type=float, default=1.0, help="plateau threshold in log-likelihood units (default 1)")
    c.add_argument("--ppc", type=_nonneg_int, default=4, help="posterior predictive draws (default 4; 0: none)")
    c.add_argument("--name", default=DEFAULT_NAME, help=f"study name in the store (default {DEFAULT_NAME})")
    c.add_argument("--progress", default="auto", choices=["auto", "bar", "log", "none"])
    c.add_argument("--json", action="store_true", help="print the result as JSON")

    s = sub.add_parser("summary", help="print the posterior table of a calibration")
    s.add_argument("store", metavar="URL", help="the --store of the calibration")
    s.add_argument("--name", default=DEFAULT_NAME, help=f"study name in the store (default {DEFAULT_NAME})")
    s.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--csv", action="store_true", help="print the table as CSV")

    sub.add_parser("locations", help="list the ISO3 codes that can be calibrated")
    return p


def _format_table(table) -> str:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500):
        return table.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def cmd_calibrate(args) -> int:
    from runfleet import parse_storage_options

    from cholera.calibrate import calibrate
    from cholera.config import CalibrationConfig

    cfg = CalibrationConfig(
        locations=tuple(args.locations.split(",")),
        sims=args.sims,
        store=args.store,
        days=args.days,
        seed=args.seed,
        n_iter=args.n_iter,
        batch=args.batch,
        priors=args.priors,
        ess_target=args.ess_target,
        top_k=args.top_k,
        patience=args.patience,
        tol=args.tol,
        n_ppc=args.ppc,
        name=args.name,
        cluster=args.cluster,
        workers=args.workers,
        storage_options=parse_storage_options(args.storage_option),
        progress=args.progress,
    )
    result = calibrate(cfg)
    if args.json:
        print(json.dumps(result, indent=1, default=str))
        return 0
    print(f"calibration {result['study_url']}: stopped by {result['stop_reason']} after "
          f"{result['sims_submitted']} sims ({result['done']} done, {result['failed']} failed, "
          f"{result['resumed']} resumed); ESS {result['ess']:.1f}, best ll {result['best_ll']}")
    for key, url in result["files"].items():
        print(f"  {key}: {url}")
    return 0


def cmd_summary(args) -> int:
    import pandas as pd
    from runfleet import parse_storage_options

    from cholera.outputs import load_calibration
    from cholera.posterior import posterior_table, weights_summary
    from cholera.priors import Priors

    options = parse_storage_options(args.storage_option)
    meta, sims = load_calibration(args.store, args.name, options)
    settings = meta["settings"]
    priors = Priors.from_dict(meta["priors"], source=f"{args.store}/{args.name}/cholera/calibration.json")
    table = posterior_table(sims, priors, settings["locations"], settings.get("temperature", 1.0))
    if args.csv:
        sys.stdout.write(table.to_csv(index=False))
        return 0
    ws = weights_summary(sims["ll"] if len(sims) else [], settings.get("temperature", 1.0))
    counts = meta.get("counts", {})
    days = settings.get("days") or "all"
    print(f"calibration {args.name} in {args.store}: locations {','.join(settings['locations'])}, days {days}, "
          f"seed {settings['seed']}, {settings['n_iter']} iterations per sim")
    print(f"sims: {ws['n']} done, {counts.get('failed', 0)} failed; stopped by {meta.get('stop_reason')}; "
          f"ESS {ws['ess']:.1f}; best log-likelihood {ws['best_ll']}")
    print(_format_table(table))
    ppc = None
    try:
        from cholera.outputs import CalibrationFiles
        from runfleet import Store

        ppc = CalibrationFiles(Store(args.store, options), args.name).read_frame("ppc.parquet")
    except Exception:  # noqa: BLE001 - the check is optional output
        ppc = None
    if isinstance(ppc, pd.DataFrame) and not ppc.empty:
        print("posterior predictive check (reported cases):")
        print(_format_table(ppc))
    return 0


def cmd_locations(_args) -> int:
    from cholera.model import available_locations

    print(",".join(available_locations()))
    return 0


def _runfleet_input_errors() -> type[Exception]:
    """runfleet's InputError (ConfigError for cluster profiles is one)."""
    from runfleet import InputError

    return InputError


def main(argv: list[str] | None = None) -> int:
    from cholera.errors import CholeraError

    try:
        args = build_parser().parse_args(argv)
        handler = {"calibrate": cmd_calibrate, "summary": cmd_summary, "locations": cmd_locations}[args.command]
        return handler(args)
    except (_BadInput, CholeraError) as exc:
        print(f"cholera: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head`
        sys.stderr.close()
        return 0
    except _runfleet_input_errors() as exc:  # bad store, cluster profile or storage option
        print(f"cholera: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
