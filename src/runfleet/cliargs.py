"""What every CLI built on runfleet shares: ``--cluster``, ``--storage-option`` and exit codes.

``runfleet``, ``ratedesign`` and ``cholera`` use these so a user names a cluster and passes
storage options the same way everywhere, and every error ends the same way: one line on stderr,
the exit code of its :class:`~runfleet.errors.RunfleetError` class (2 bad input, 3 no cluster /
preflight, 4 infrastructure lost), never a traceback::

    from runfleet.cliargs import add_cluster_argument, add_storage_option_argument, cli_main, ...

    add_cluster_argument(parser)
    add_storage_option_argument(parser)
    ...
    def main(argv=None):
        return cli_main("mytool", lambda: dispatch(build_parser().parse_args(argv)))
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from .errors import InputError, RunfleetError

CLUSTER_HELP = ("where runs execute: a profile NAME from runfleet.yaml, tcp://host:port (a running "
                "scheduler), scheduler-file:PATH, local (embedded cluster, the default) or serial "
                "(in this process, no Dask)")
STORAGE_OPTION_HELP = ("fsspec storage option for s3:// and other URLs (repeatable); dotted keys nest "
                       "(client_kwargs.endpoint_url=http://...); a quoted value stays a string (token='0123'); "
                       "aws_profile=NAME uses a profile of ~/.aws/credentials")


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose own errors are :class:`InputError` (one line, exit 2)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        raise InputError(message)


def add_cluster_argument(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """Add ``--cluster NAME | tcp://host:port | scheduler-file:PATH | local | serial`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser (or sub-command parser) to extend; changed in place.
    default : str, optional
        Value of ``args.cluster`` when the option is not given; ``None`` means "the embedded local
        cluster" to :func:`cluster_from`.

    See Also
    --------
    cluster_from : turn the parsed value into what ``run_study(cluster=...)`` takes.
    """
    parser.add_argument("--cluster", default=default, metavar="NAME", help=CLUSTER_HELP)


def add_storage_option_argument(parser: argparse.ArgumentParser, json_alias: bool = False) -> None:
    """Add ``--storage-option KEY=VALUE`` (repeatable) to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser (or sub-command parser) to extend; changed in place.
    json_alias : bool, default False
        Also accept ``--storage-options JSON`` (ratedesign's older form); both merge, the
        ``KEY=VALUE`` ones win.

    See Also
    --------
    storage_options_from : the typed options of the parsed arguments.

    References
    ----------
    .. [1] fsspec, "Storage options",
       https://filesystem-spec.readthedocs.io/en/latest/features.html
    """
    parser.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                        help=STORAGE_OPTION_HELP)
    if json_alias:
        parser.add_argument("--storage-options", default=None, metavar="JSON",
                            help="the same options as one JSON object (alias of --storage-option)")


def storage_options_from(args: argparse.Namespace) -> dict:
    """The typed storage options of parsed ``args`` (``{}`` when none were given).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments of a parser extended by :func:`add_storage_option_argument`
        (``args.storage_option``: list of ``KEY=VALUE``; optionally ``args.storage_options``: JSON).

    Returns
    -------
    dict
        fsspec storage options; dotted keys become nested dicts, values are typed (bool, int,
        float, str) as :func:`runfleet.parse_storage_options` does.

    Raises
    ------
    InputError
        ``--storage-options`` is not a JSON object, or a ``KEY=VALUE`` pair is malformed (exit 2).
    """
    from .storage_options import coerce_storage_options, parse_storage_options

    out: dict = {}
    text = getattr(args, "storage_options", None)
    if text:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"--storage-options: not valid JSON ({e.msg} at column {e.colno})") from None
        out = coerce_storage_options(doc, "--storage-options")
    pairs = parse_storage_options(getattr(args, "storage_option", None) or [])
    for k, v in pairs.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def cluster_from(args: argparse.Namespace, config_path=None):
    """What ``run_study(cluster=...)`` takes for ``args.cluster``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments of a parser extended by :func:`add_cluster_argument`.
    config_path : str or os.PathLike, optional
        ``runfleet.yaml`` to read cluster profiles from; default: the usual search path.

    Returns
    -------
    None, str or runfleet.clusters.Profile
        ``None`` (embedded local cluster), ``"serial"``, or a validated cluster profile (an
        ``address`` profile for ``tcp://...`` and ``scheduler-file:PATH``), as
        :func:`runfleet.clusters.resolve_cluster` returns it.

    Raises
    ------
    runfleet.config.ConfigError
        An :class:`~runfleet.errors.InputError`: unknown profile name, malformed address or
        invalid profiles file (exit 2).
    """
    from .clusters import resolve_cluster

    return resolve_cluster(getattr(args, "cluster", None), config_path)


def exit_code(exc: BaseException) -> int:
    """The exit code for an exception reaching a CLI's top level."""
    if isinstance(exc, RunfleetError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return 1


def report_error(prog: str, exc: BaseException) -> int:
    """Print the one line for ``exc`` on stderr and return its exit code."""
    if isinstance(exc, KeyboardInterrupt):
        print(f"{prog}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    text = " ".join(str(exc).split("\n")[0].split()) if str(exc).strip() else type(exc).__name__
    if isinstance(exc, InputError):
        print(f"{prog}: error: {text}", file=sys.stderr)
    elif "\n" in str(exc) and getattr(exc, "exit_code", 0) == 3:  # preflight table: keep it whole
        print(f"{prog}: {exc}", file=sys.stderr)
    else:
        print(f"{prog}: {text}", file=sys.stderr)
    return exit_code(exc)


def cli_main(prog: str, run: Callable[[], int | None]) -> int:
    """Call ``run()`` and turn runfleet's errors and Ctrl-C into one line and an exit code."""
    try:
        return int(run() or 0)
    except (RunfleetError, KeyboardInterrupt) as e:
        return report_error(prog, e)
    finally:
        silence_library_noise_at_exit()


def silence_library_noise_at_exit() -> None:
    """Stop finalizers of Dask / dask-gateway objects from printing "Exception ignored in ..."
    tracebacks when the interpreter exits after an error (their loops are already closed)."""
    import atexit

    def _quiet():
        sys.unraisablehook = lambda unraisable: None

    atexit.register(_quiet)


__all__ = ["CLUSTER_HELP", "Parser", "STORAGE_OPTION_HELP", "add_cluster_argument", "add_storage_option_argument",
           "cli_main", "cluster_from", "exit_code", "report_error", "silence_library_noise_at_exit",
           "storage_options_from"]
