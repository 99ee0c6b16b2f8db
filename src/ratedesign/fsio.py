"""Small fsspec helpers: every read takes ``storage_options`` and works on local paths and s3://."""

from __future__ import annotations

import contextlib
import json
import posixpath
from typing import Any

import fsspec
import pyarrow.parquet as pq

from ratedesign.errors import InputError


def is_remote(path: str) -> bool:
    """True when ``path`` is a URL with a protocol other than ``file``.

    Parameters
    ----------
    path : str
        Local path or URL.

    Returns
    -------
    bool
        True when ``path`` is a URL with a protocol other than ``file``.
    """
    return "://" in str(path) and not str(path).startswith("file://")


def get_fs(path: str, storage_options: dict | None = None):
    """Return ``(filesystem, stripped_path)`` for ``path``; options only go to remote filesystems.

    Parameters
    ----------
    path : str
        Local path or URL.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    tuple
        ``(fsspec filesystem, path without protocol)``; options only go to remote filesystems.
    """
    so = dict(storage_options or {}) if is_remote(path) else {}
    return fsspec.core.url_to_fs(str(path), **so)


def join(base: str, *parts: str) -> str:
    """Join path parts with '/', keeping a URL protocol intact.

    Parameters
    ----------
    base : str
        Local path or URL.
    *parts : str
        Path parts.

    Returns
    -------
    str
        The joined path.
    """
    base = str(base)
    return posixpath.join(base.rstrip("/") if len(base) > 1 else base, *[str(p) for p in parts])


@contextlib.contextmanager
def access(path: str):
    """Context manager that turns a failure to reach ``path`` into an InputError naming the path.

    No credentials, access denied, unknown endpoint, ...; a missing file and InputError pass
    through unchanged.

    Parameters
    ----------
    path : str
        Local path or URL being accessed.

    Yields
    ------
    None
        Runs the ``with`` block.

    Raises
    ------
    ratedesign.errors.InputError
        The block failed to reach ``path``.
    """
    try:
        yield
    except (FileNotFoundError, InputError):
        raise
    except Exception as e:  # noqa: BLE001 - botocore/aiohttp errors have no common base we can import
        hint = " (give credentials: --storage-options or the usual AWS variables/profile)" if is_remote(path) else ""
        raise InputError(f"cannot access {path}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                         f"{hint}") from None


def exists(path: str, storage_options: dict | None = None) -> bool:
    """Whether ``path`` exists (local or remote).

    Parameters
    ----------
    path : str
        Local path or URL.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    bool
        Whether ``path`` exists.
    """
    with access(path):
        fs, p = get_fs(path, storage_options)
        return fs.exists(p)


def require(path: str, what: str, storage_options: dict | None = None) -> None:
    """Raise InputError naming ``what`` when ``path`` does not exist.

    Parameters
    ----------
    path : str
        Local path or URL.
    what : str
        What the file is, in messages ("tariff", "revenue requirement").
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    None
        Returns when ``path`` exists.

    Raises
    ------
    ratedesign.errors.InputError
        ``path`` does not exist or cannot be reached.
    """
    if path is None or str(path) == "":
        raise InputError(f"{what}: no path given")
    if not exists(path, storage_options):
        raise InputError(f"{what}: file not found: {path}")


def read_text(path: str, what: str, storage_options: dict | None = None) -> str:
    """Read a text file; a missing file raises InputError naming ``what``.

    Parameters
    ----------
    path : str
        Local path or URL.
    what : str
        What the file is, in messages ("tariff", "revenue requirement").
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    str
        The text.

    Raises
    ------
    ratedesign.errors.InputError
        Missing or unreachable file (naming ``what``).
    """
    try:
        with access(path):
            fs, p = get_fs(path, storage_options)
            with fs.open(p, "rt") as f:
                return f.read()
    except FileNotFoundError:
        raise InputError(f"{what}: file not found: {path}") from None


def read_yaml(path: str, what: str, storage_options: dict | None = None) -> Any:
    """Read a YAML file (local or remote); a parse error is one line naming the file, line and problem.

    Parameters
    ----------
    path : str
        Local path or URL.
    what : str
        What the file is, in messages ("tariff", "revenue requirement").
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    Any
        The parsed document.

    Raises
    ------
    ratedesign.errors.InputError
        Missing file, or a parse error (one line naming the file, line and problem).
    """
    import yaml

    text = read_text(path, what, storage_options)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster on large scenario files
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        from runfleet import yaml_problem

        raise InputError(f"{what} {path}: not valid YAML{yaml_problem(e)}") from None


def read_json(path: str, what: str, storage_options: dict | None = None) -> Any:
    """Read a JSON file; errors name the file.

    Parameters
    ----------
    path : str
        Local path or URL.
    what : str
        What the file is, in messages ("tariff", "revenue requirement").
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    Any
        The parsed document.

    Raises
    ------
    ratedesign.errors.InputError
        Missing file or invalid JSON (naming the file).
    """
    text = read_text(path, what, storage_options)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{what}: {path} is not valid JSON ({e})") from None


def read_parquet_table(path: str, what: str, columns: list[str] | None = None,
                       storage_options: dict | None = None, fs=None):
    """Read a parquet file as a pyarrow Table (optionally only ``columns``).

    Parameters
    ----------
    path : str
        Local path or URL.
    what : str
        What the file is, in messages.
    columns : list of str, optional
        Columns to read (default all).
    storage_options : dict, optional
        fsspec options for URLs.
    fs : fsspec.AbstractFileSystem, optional
        A filesystem object to reuse for many files.

    Returns
    -------
    pyarrow.Table
        The table.

    Raises
    ------
    ratedesign.errors.InputError
        Missing file or column (naming the file and the column).
    """
    if fs is None:
        fs, p = get_fs(path, storage_options)
    else:
        p = fs._strip_protocol(path)
    try:
        with access(path):
            f = fs.open(p, "rb")
        with f:
            pf = pq.ParquetFile(f)
            names = pf.schema_arrow.names
            if columns is not None:
                missing = [c for c in columns if c not in names]
                if missing:
                    raise InputError(f"{what}: {path} has no column {missing[0]!r} "
                                     f"(expected columns {columns}; found {names[:12]}{'...' if len(names) > 12 else ''})")
            return pf.read(columns=columns)
    except FileNotFoundError:
        raise InputError(f"{what}: file not found: {path}") from None


def read_parquet_df(path: str, what: str, columns: list[str] | None = None,
                    storage_options: dict | None = None):
    """Read a parquet file into a pandas DataFrame (see ``read_parquet_table``).

    Parameters
    ----------
    path : str
        Local path or URL.
    what : str
        What the file is, in messages ("tariff", "revenue requirement").
    columns : list of str, optional
        Columns to read (default all).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    pandas.DataFrame
        The table.

    Raises
    ------
    ratedesign.errors.InputError
        Missing file or column (see :func:`read_parquet_table`).
    """
    return read_parquet_table(path, what, columns, storage_options).to_pandas()


def write_bytes(path: str, data: bytes, storage_options: dict | None = None) -> None:
    """Write bytes to ``path``, creating parent directories.

    Parameters
    ----------
    path : str
        Local path or URL.
    data : bytes
        The content.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    None
        Nothing.
    """
    fs, p = get_fs(path, storage_options)
    parent = posixpath.dirname(p)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    with fs.open(p, "wb") as f:
        f.write(data)


__all__ = ["access", "exists", "get_fs", "is_remote", "join", "read_json", "read_parquet_df", "read_parquet_table",
           "read_text", "read_yaml", "require", "write_bytes"]
