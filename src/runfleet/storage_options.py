"""fsspec storage options from the command line and from YAML, with the types fsspec expects.

The rule: keys, secrets, tokens, profiles, endpoints and **every option not known to be
numeric or boolean stay strings** (``--storage-option secret=000000`` is the string
``"000000"``). Options known to s3fs/fsspec/botocore as numbers or booleans (``anon``,
``use_ssl``, ``default_block_size``, ``config_kwargs.read_timeout``, ...) are converted, and a
value that does not convert is an error naming the option (never its value).

``KEY=VALUE`` on the command line: dotted keys nest (``client_kwargs.endpoint_url=...``); a
value in single or double quotes is taken literally as a string (``token="123"``).

``aws_profile: NAME`` is resolved on the driver with botocore (:mod:`runfleet.clusters.aws`)
into ``key``, ``secret``, ``token`` and ``client_kwargs.endpoint_url`` / ``region_name``, so
workers need no credentials file; options given explicitly win over the profile's.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .errors import InputError

#: Options fsspec / s3fs / gcsfs / adlfs / botocore take as booleans (dotted for nested ones).
BOOLEAN = frozenset({
    "anon", "use_ssl", "requester_pays", "version_aware", "default_fill_cache", "cache_regions",
    "asynchronous", "fixed_upload_size", "skip_instance_cache", "use_listings_cache", "auto_mkdir",
    "consistency", "check_connection", "secure_serialize", "client_kwargs.verify",
    "config_kwargs.parameter_validation", "config_kwargs.tcp_keepalive", "config_kwargs.request_checksum_calculation",
})
#: ... as integers.
INTEGER = frozenset({
    "default_block_size", "max_concurrency", "max_paths", "blocksize", "block_size", "max_concurrency",
    "config_kwargs.max_pool_connections", "config_kwargs.retries.max_attempts",
    "config_kwargs.retries.total_max_attempts", "retries", "requests_timeout",
})
#: ... as numbers (int or float).
NUMBER = frozenset({
    "listings_expiry_time", "config_kwargs.connect_timeout", "config_kwargs.read_timeout", "timeout",
    "connect_timeout", "read_timeout",
})
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _type_name(v: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _convert_text(path: str, text: str, where: str) -> Any:
    """A command-line value for option ``path`` (dotted)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]  # quoted: literally a string
    low = text.strip().lower()
    if path in BOOLEAN:
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        if path == "client_kwargs.verify":  # also a CA bundle path
            return text
        raise InputError(f"{where} {path}: expected true or false")
    if path in INTEGER:
        try:
            return int(low)
        except ValueError:
            raise InputError(f"{where} {path}: expected an integer") from None
    if path in NUMBER:
        try:
            return int(low)
        except ValueError:
            try:
                return float(low)
            except ValueError:
                raise InputError(f"{where} {path}: expected a number") from None
    return text


def _check_value(path: str, value: Any, where: str) -> Any:
    """A YAML/API value for option ``path``: numbers/booleans where known, strings elsewhere."""
    if isinstance(value, Mapping):
        return {str(k): _check_value(f"{path}.{k}", v, where) for k, v in value.items()}
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, str):
        if path in BOOLEAN or path in INTEGER or path in NUMBER:
            return _convert_text(path, value, where)
        return value
    if path in BOOLEAN:
        if isinstance(value, bool):
            return value
        raise InputError(f"{where}.{path}: expected true or false, got {_type_name(value)}")
    if path in INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise InputError(f"{where}.{path}: expected an integer, got {_type_name(value)}")
    if path in NUMBER:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        raise InputError(f"{where}.{path}: expected a number, got {_type_name(value)}")
    # a number or boolean where a string is expected: YAML already lost the text (000000 -> 0)
    raise InputError(f"{where}.{path}: expected a string, got {_type_name(value)}; quote the value "
                     "(YAML turns unquoted digits into numbers, dropping leading zeros, and yes/no into booleans)")


def _merge_aws_profile(options: dict, where: str) -> dict:
    name = options.pop("aws_profile", None)
    if name is None:
        return options
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}.aws_profile: expected the name of an AWS credentials profile")
    from .clusters.aws import resolve_profile

    resolved = resolve_profile(name, f"{where}.aws_profile").storage_options()
    out = dict(resolved)
    for k, v in options.items():  # explicit options win
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def coerce_storage_options(options: Mapping | None, where: str = "storage_options") -> dict:
    """Check and convert storage options given as a mapping (YAML ``storage_options:``, the API).

    Parameters
    ----------
    options : mapping or None
    where : str
        Prefix for messages, e.g. ``"study.yaml: storage_options"``.

    Returns
    -------
    dict
        Options with known numbers/booleans converted, every other value a string, and
        ``aws_profile`` resolved into credentials.

    Raises
    ------
    InputError
        One line naming the option; its value is never shown.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InputError(f"{where}: expected a mapping of fsspec options, got {_type_name(options)}")
    out = {str(k): _check_value(str(k), v, where) for k, v in options.items()}
    return _merge_aws_profile(out, where)


def parse_storage_options(pairs: Iterable[str] | None, where: str = "--storage-option") -> dict:
    """``["key=value", "client_kwargs.endpoint_url=http://..."]`` to a nested dict of typed options.

    Parameters
    ----------
    pairs : iterable of str
        ``KEY=VALUE`` strings; dotted keys nest; a quoted value stays a string.
    where : str
        The option's name in messages.

    Returns
    -------
    dict

    Raises
    ------
    InputError
        A pair without ``=``, an empty key, a conflict, or a value that does not convert.
    """
    out: dict = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise InputError(f"{where}: expected key=value, got {pair.split('=')[0]!r}")
        key, _, raw = pair.partition("=")
        key = key.strip()
        if not key or any(not p for p in key.split(".")):
            raise InputError(f"{where}: empty key in key=value")
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise InputError(f"{where}: {key!r} conflicts with an earlier option")
        if isinstance(node.get(parts[-1]), dict):
            raise InputError(f"{where}: {key!r} conflicts with an earlier option")
        node[parts[-1]] = _convert_text(key, raw, where)
    return _merge_aws_profile(out, where)


__all__ = ["BOOLEAN", "INTEGER", "NUMBER", "coerce_storage_options", "parse_storage_options"]
