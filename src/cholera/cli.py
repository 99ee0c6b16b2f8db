"""``cholera calibrate | summary | locations``.

Bad input (unknown location, non-positive sims, bad priors file, missing calibration) prints
one line ``cholera: error: <message>`` on stderr and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from runfleet import add_cluster_argument, add_storage_option_argument, storage_options_from

from cholera.config import DEFAULT_NAME, PROGRESS_MODES

__all__ = ["build_parser", "main"]

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        raise _BadInput(message)


class _BadInput(Exception):
    pass


def _count_flag(field: str):
    """An argparse type for an integer setting; its lower bound is the one of ``CalibrationConfig.<field>``."""
    from cholera.config import CalibrationConfig
    from cholera.validation import field_expected

    expected = field_expected(CalibrationConfig, field) or "an integer"
    what = "a positive integer" if expected == "an integer >= 1" else expected
    minimum = int(expected.rsplit(" ", 1)[-1]) if ">=" in expected else None

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``cholera`` argument parser (options documented in docs/cholera.md).

    Returns
    -------
    argparse.ArgumentParser
        Its ``error`` raises instead of printing usage, so ``main`` prints one line.
    """
    p = _Parser(prog="cholera", description="Calibrate the laser-cholera model on runfleet.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("calibrate", help="run or resume a calibration")
    c.add_argument("--locations", required=True, help="comma-separated ISO3 codes, e.g. ETH,MOZ")
    c.add_argument("--sims", required=True, type=_count_flag("sims"), help="cap on the number of simulations")
    c.add_argument("--store", required=True, help="runfleet store: directory or URL (s3://bucket/prefix)")
    c.add_argument("--days", type=_count_flag("days"), help="simulate only the first D days (default: all 1155)")
    c.add_argument("--seed", type=_count_flag("seed"), default=0, help="calibration seed (default 0)")
    add_cluster_argument(c)
    c.add_argument("--workers", type=_count_flag("workers"), help="worker processes (default: one per core)")
    add_storage_option_argument(c)
    c.add_argument("--priors", help="priors YAML (default: the packaged default priors)")
    c.add_argument("--n-iter", type=_count_flag("n_iter"), default=3, help="stochastic iterations per simulation (default 3)")
    c.add_argument("--batch", type=_count_flag("batch"), default=100, help="simulations per batch (default 100)")
    c.add_argument("--ess-target", type=float, default=100.0, help="stop at this effective sample size (default 100)")
    c.add_argument("--top-k", type=_count_flag("top_k"), default=20, help="size of the best-fit set (default 20)")
    c.add_argument("--patience", type=_count_flag("patience"), default=3,
                   help="stop when the best-fit set improved by < --tol over this many batches (0: off; default 3)")
    c.add_argument("--tol", type=float, default=1.0, help="plateau threshold in log-likelihood units (default 1)")
    c.add_argument("--ppc", type=_count_flag("n_ppc"), default=4,
                   help="distinct posterior-predictive simulations (default 4; 0: no check)")
    c.add_argument("--name", default=DEFAULT_NAME, help=f"study name in the store (default {DEFAULT_NAME})")
    c.add_argument("--progress", default="auto", choices=list(PROGRESS_MODES),
                   help="progress display (default auto: a bar on a terminal, log lines otherwise)")
    c.add_argument("--json", action="store_true", help="print the result as JSON instead of the summary")

    s = sub.add_parser("summary", help="print the posterior table of a calibration")
    s.add_argument("store", metavar="URL", help="the --store of the calibration")
    s.add_argument("--name", default=DEFAULT_NAME, help=f"study name in the store (default {DEFAULT_NAME})")
    add_storage_option_argument(s)
    s.add_argument("--csv", action="store_true", help="print only the posterior table, as CSV (full precision)")

    sub.add_parser("locations", help="list the ISO3 codes that can be calibrated")
    return p


def cmd_calibrate(args) -> int:

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
        storage_options=storage_options_from(args),
        progress=args.progress,
    )
    result = calibrate(cfg)
    if args.json:
        print(json.dumps(result, indent=1, default=str))
        return 0
    print(_summary_text(cfg.store, cfg.name, cfg.storage_options))
    return 0


def _summary_text(store: str, name: str, options: dict) -> str:
    from cholera.api import report

    return report(store, name, options)


def cmd_summary(args) -> int:
    from runfleet import store_errors

    options = storage_options_from(args)
    with store_errors(args.store):  # unreachable store: exit 4; refused credentials, corrupt record: 2
        if args.csv:
            from cholera.api import summary

            text = summary(args.store, args.name, options).to_csv(index=False)
        else:
            text = _summary_text(args.store, args.name, options) + "\n"
    sys.stdout.write(text)
    return 0


def cmd_locations(_args) -> int:
    from cholera.model import available_locations

    print(",".join(available_locations()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cholera`` command; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 done; 2 bad input (one line ``cholera: error: ...`` on stderr); 3 no cluster; 4
        infrastructure lost (runfleet's exit codes).
    """
    from runfleet import RunfleetError

    try:
        args = build_parser().parse_args(argv)
        handler = {"calibrate": cmd_calibrate, "summary": cmd_summary, "locations": cmd_locations}[args.command]
        return handler(args)
    except _BadInput as exc:
        print(f"cholera: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head`
        sys.stderr.close()
        return 0
    except RunfleetError as exc:  # CholeraError is an InputError; bad store, cluster profile, storage option
        print(f"cholera: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
