"""Command runs: a run whose work is a program (an R script, a CLI, a pipeline step).

``Run("sim-3", "runfleet.command:run_command", params={"cmd": ["Rscript", "calibrate.R", "--sim",
"{i}", "--out", "{out}"], "i": 3})`` runs the program on a worker with the run's params, output
directory and seed, and keeps everything a run function has: resume, retries, timeouts, failures
as rows with a class, the log in ``_log.txt``.

Templates (``str.format`` fields) in ``cmd`` and ``env`` values:

- ``{<param>}``: any other param of the run;
- ``{out}``: the run's output directory, a local path. For a local store it is the run's
  directory in the store; for an object store (``s3://...``) it is a temporary local directory
  whose files are uploaded to the run's directory after the program succeeds;
- ``{seed}``: the run's seed (an int in [0, 2**32), from the study seed and the run name);
- ``{name}``: the run's name.

The program's value (what the run returns, seen by dependents in ``ctx.upstream``) is, in
order: the JSON in ``{out}/_value.json`` if the program wrote that file; else the last non-empty
line of its stdout if that line parses as JSON; else ``None``.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from typing import Any

from .errors import CommandFailed

#: file a program may write in ``{out}`` to return a value (JSON)
VALUE_FILE = "_value.json"
#: lines of stderr kept in a CommandFailed message
STDERR_TAIL_LINES = 20
#: seconds a program gets after SIGTERM (timeout, interruption) before its group is killed
TERM_GRACE_S = 2.0
#: template fields runfleet fills in (a param of the same name is shadowed)
RESERVED = ("out", "seed", "name")


def run_command(ctx, *, cmd: list, env: dict | None = None, **params) -> Any:
    """Run a program as this run's work and return its value.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context (output directory, seed, name, log).
    cmd : list of str
        The program and its arguments, each a template (see the module docs): params,
        ``{out}``, ``{seed}``, ``{name}``. No shell is involved; use ``["sh", "-c", "..."]`` for
        shell syntax.
    env : dict, optional
        Environment variables (values templated like ``cmd``) set on top of the worker's
        environment. ``RUNFLEET_OUT``, ``RUNFLEET_SEED`` and ``RUNFLEET_RUN`` are always set.
    **params
        The run's other params, available to the templates.

    Returns
    -------
    Any
        ``{out}/_value.json`` if the program wrote it, else its last stdout line if that is
        JSON, else None.

    Raises
    ------
    runfleet.errors.CommandFailed
        The program exited non-zero (or was ended by a signal): the message has the exit code
        and the last 20 lines of stderr; ``returncode`` and ``stderr_tail`` are attributes.
    ValueError
        A template names a field that is not a param.

    Notes
    -----
    The program runs in a new session (its own process group) in the worker's working
    directory; stdout and stderr go line by line to the run's log (``_log.txt``). When the run
    is interrupted (its ``timeout_s`` expired: ``RunTimeout``, or any other exception), the
    whole process group gets SIGTERM, then SIGKILL after 2 s, so no child is left running.
    """
    local_store = ctx.store.is_local
    out = ctx.out if local_store else tempfile.mkdtemp(prefix=f"runfleet-{ctx.name}-")
    try:
        os.makedirs(out, exist_ok=True)
        fields = {**params, "out": out, "seed": ctx.seed, "name": ctx.name}
        argv = [_fill(part, fields, f"cmd[{i}]") for i, part in enumerate(_as_list(cmd))]
        child_env = dict(os.environ)
        child_env.update({str(k): _fill(v, fields, f"env.{k}") for k, v in (env or {}).items()})
        child_env.update(RUNFLEET_OUT=out, RUNFLEET_SEED=str(ctx.seed), RUNFLEET_RUN=ctx.name)
        returncode, last_stdout, stderr_tail = _execute(argv, child_env, ctx.log)
        if returncode != 0:
            tail = "\n".join(stderr_tail)
            how = (f"was ended by signal {signal.Signals(-returncode).name}" if returncode < 0
                   else f"exited with code {returncode}")
            error = CommandFailed(f"command {argv[0]!r} {how}" + (f"; stderr (last lines):\n{tail}" if tail else
                                                                   "; stderr was empty"))
            error.returncode = returncode
            error.stderr_tail = tail
            error.details = {"exit_code": returncode, "stderr_tail": tail}  # for records that keep fields
            raise error
        value = _read_value(out, last_stdout)
        if not local_store:
            _upload(ctx, out)
        return value
    finally:
        if not local_store:
            shutil.rmtree(out, ignore_errors=True)


def command_run(name: str, cmd: list, *, env: dict | None = None, inputs=(), params: dict | None = None,
                **run_fields):
    """A :class:`runfleet.Run` of :func:`run_command`, with input files in its content key.

    The same run as a YAML entry with ``cmd:``, ``env:`` and ``inputs:``.

    Parameters
    ----------
    name : str
        The run's name.
    cmd, env
        As for :func:`run_command` (templates over ``params``, ``{out}``, ``{seed}``, ``{name}``).
    inputs : sequence of str
        Files the program reads (local paths or fsspec URLs): the run's ``inputs``
        (:class:`runfleet.Run`), whose content identities are part of its key, so editing one
        re-runs the run.
    params : dict, optional
        The run's other params.
    **run_fields
        Other :class:`runfleet.Run` fields (``after``, ``retries``, ``timeout_s``, ...).

    Returns
    -------
    runfleet.Run

    Notes
    -----
    An input file that cannot be read is an InputError naming the run and the file when the
    study is validated (``run_study``, ``plan_study``, ``Fleet.submit``), before anything runs.
    """
    from .study import Run

    all_params = {**(params or {}), "cmd": list(cmd), "env": dict(env or {})}  # as a YAML cmd: entry
    return Run(name, "runfleet.command:run_command", params=all_params, inputs=tuple(str(p) for p in inputs),
               **run_fields)


def _as_list(cmd) -> list:
    if isinstance(cmd, (str, bytes)) or not isinstance(cmd, (list, tuple)) or not cmd:
        raise ValueError(f"cmd: expected a non-empty list of strings (program and arguments), got {cmd!r}")
    return list(cmd)


def _fill(template, fields: dict, where: str) -> str:
    """``str.format`` a template with the run's fields; ValueError naming ``where`` if a field is unknown."""
    if not isinstance(template, str):
        return str(template)
    try:
        return template.format(**fields)
    except KeyError as e:
        known = ", ".join(sorted(str(k) for k in fields))
        raise ValueError(f"{where}: template {template!r} uses {{{e.args[0]}}}, which is not a param "
                         f"(available: {known})") from None
    except (IndexError, ValueError) as e:
        raise ValueError(f"{where}: bad template {template!r}: {e} (write {{{{ and }}}} for literal braces)") from None


def _execute(argv: list[str], env: dict, log) -> tuple[int, str | None, list[str]]:
    """Run ``argv`` in its own process group; stream its output to ``log``; return (exit code,
    last non-empty stdout line, last stderr lines). Ends the group on any interruption."""
    stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    last_stdout: list[str] = []
    log.info("command: %s", " ".join(argv))
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, text=True, errors="replace", bufsize=1)
    except OSError as e:  # not found, not executable: the program never started
        error = CommandFailed(f"command {argv[0]!r} could not be started: {e.strerror or e}")
        error.returncode = None
        error.stderr_tail = ""
        error.details = {"exit_code": None, "stderr_tail": ""}
        raise error from None

    def pump(stream, label: str, keep) -> None:
        for line in stream:
            line = line.rstrip("\n")
            log.info("%s: %s", label, line)
            keep(line)
        stream.close()

    def keep_stdout(line: str) -> None:
        if line.strip():
            last_stdout[:] = [line]

    readers = [threading.Thread(target=pump, args=(proc.stdout, "stdout", keep_stdout), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, "stderr", stderr_tail.append), daemon=True)]
    for t in readers:
        t.start()
    try:
        while True:  # short waits in Python, so that the run's timeout (an async exception) lands here
            try:
                returncode = proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                continue
    except BaseException:
        _end_group(proc)
        raise
    else:  # members of its group still running (a background child): they end with the run
        _kill_group(proc.pid)
    finally:
        for t in readers:
            t.join(timeout=5)
    log.info("command exited with code %s", returncode)
    return returncode, (last_stdout[0] if last_stdout else None), list(stderr_tail)


def _kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _end_group(proc: subprocess.Popen) -> None:
    """SIGTERM the program's process group, SIGKILL it after TERM_GRACE_S; reap the program."""
    _kill_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=TERM_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    _kill_group(proc.pid)  # whatever ignored SIGTERM, leader or not
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _read_value(out: str, last_stdout: str | None) -> Any:
    path = os.path.join(out, VALUE_FILE)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)  # a malformed file is the program's error: reported as the run's failure
    if last_stdout is not None:
        try:
            return json.loads(last_stdout)
        except ValueError:
            return None
    return None


def _upload(ctx, local_dir: str) -> None:
    """Copy every file under ``local_dir`` to the run's directory in the store (``ctx.out``)."""
    for root, _dirs, files in os.walk(local_dir):
        for f in files:
            src = os.path.join(root, f)
            rel = os.path.relpath(src, local_dir).replace(os.sep, "/")
            ctx.fs.put_file(src, ctx.path(rel))


__all__ = ["command_run", "run_command", "VALUE_FILE"]
