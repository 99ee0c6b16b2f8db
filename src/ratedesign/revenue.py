"""Revenue requirement YAML, as the rate-design platform writes it.

Format: switchbox-data/rate-design-platform, ``rate_design/hp_rates/<state>/config/rev_requirement/``
and ``utils/scenario_config.py`` (../shared/rate_design_spec.md S2 "Revenue requirement YAML", S5).

Delivery runs use ``total_delivery_revenue_requirement``, supply runs
``total_delivery_and_supply_revenue_requirement``; a bare ``revenue_requirement`` is accepted
(e.g. the 1e12 placeholder of default runs). Subclass runs take
``subclass_revenue_requirements.delivery.<method_d>.<subclass>`` (+ ``supply.<method_s>.<subclass>``
for supply runs). Amounts in $ per year.
"""

from __future__ import annotations

from dataclasses import dataclass


from ratedesign.errors import InputError
from ratedesign.fsio import read_yaml


@dataclass(frozen=True)
class RevenueRequirement:
    """Revenue requirement of one run.

    Parameters
    ----------
    total : float
        RR, $ per year (sum of the subclass amounts for subclass runs).
    by_subclass : dict, optional
        ``{subclass name (e.g. 'hp', 'non-hp'): RR_k in $ per year}``, or None.
    customer_count : float, optional
        ``test_year_customer_count`` (customers) if the YAML sets it.
    kwh_scale_factor : float, optional
        ``resstock_kwh_scale_factor`` (dimensionless) if set.
    source : str, default ""
        The YAML path.
    """

    total: float
    by_subclass: dict | None = None
    customer_count: float | None = None
    kwh_scale_factor: float | None = None
    source: str = ""


def _float(value, where: str, source: str) -> float:
    try:
        return float(value)  # YAML 1.1 reads "1e12" as a string; float() accepts it
    except (TypeError, ValueError):
        raise InputError(f"revenue requirement {source}: field {where!r} is {value!r}; expected a number "
                         f"in $") from None


def parse_revenue_requirement(data: dict, source: str, *, include_supply: bool = False,
                              subclasses: bool = False, method_delivery: str = "percustomer",
                              method_supply: str = "percustomer") -> RevenueRequirement:
    """Interpret a parsed RR YAML mapping (see module docstring).

    Parameters
    ----------
    data : dict
        The parsed YAML document.
    source : str
        Its path (for messages).
    include_supply : bool, default False
        A supply run: use ``total_delivery_and_supply_revenue_requirement`` (and the ``supply``
        subclass amounts).
    subclasses : bool, default False
        A subclass run: read ``subclass_revenue_requirements``.
    method_delivery : str, default "percustomer"
        Residual allocation method of the delivery subclass amounts (``percustomer``,
        ``volumetric``, ``epmc``, ``passthrough``).
    method_supply : str, default "percustomer"
        The same for the supply amounts.

    Returns
    -------
    RevenueRequirement
        Amounts in $ per year.

    Raises
    ------
    ratedesign.errors.InputError
        Not a mapping, a required field missing, or a value that is not a number (one line naming
        the file and the field).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/scenario_config.py`` and
       ``rate_design/hp_rates/<state>/config/rev_requirement/``.
    """
    if not isinstance(data, dict):
        raise InputError(f"revenue requirement {source}: expected a YAML mapping")
    key = "total_delivery_and_supply_revenue_requirement" if include_supply else "total_delivery_revenue_requirement"
    if key in data:
        total = _float(data[key], key, source)
    elif "revenue_requirement" in data:
        total = _float(data["revenue_requirement"], "revenue_requirement", source)
    else:
        raise InputError(f"revenue requirement {source}: needs field {key!r} (or 'revenue_requirement')")
    by_sub = None
    if subclasses:
        sub = data.get("subclass_revenue_requirements")
        if not isinstance(sub, dict):
            raise InputError(f"revenue requirement {source}: subclass run needs field "
                             f"'subclass_revenue_requirements' with delivery/supply amounts per subclass")
        parts = [("delivery", method_delivery)] + ([("supply", method_supply)] if include_supply else [])
        by_sub = {}
        for side, method in parts:
            block = (sub.get(side) or {}).get(method) if isinstance(sub.get(side), dict) else None
            where = f"subclass_revenue_requirements.{side}.{method}"
            if not isinstance(block, dict) or not block:
                raise InputError(f"revenue requirement {source}: field {where!r} is missing; expected "
                                 f"{{subclass: $}}")
            for name, amount in block.items():
                by_sub[str(name)] = by_sub.get(str(name), 0.0) + _float(amount, f"{where}.{name}", source)
        total = float(sum(by_sub.values()))
    cc = data.get("test_year_customer_count")
    sf = data.get("resstock_kwh_scale_factor")
    return RevenueRequirement(total=total, by_subclass=by_sub,
                              customer_count=_float(cc, "test_year_customer_count", source) if cc is not None else None,
                              kwh_scale_factor=_float(sf, "resstock_kwh_scale_factor", source) if sf is not None else None,
                              source=source)


def load_revenue_requirement(path: str, storage_options: dict | None = None, **kwargs) -> RevenueRequirement:
    """Read and interpret an RR YAML (local or s3://).

    Parameters
    ----------
    path : str
        Local path or URL of the YAML file.
    storage_options : dict, optional
        fsspec options for URLs.
    **kwargs
        ``include_supply``, ``subclasses``, ``method_delivery``, ``method_supply`` as for
        :func:`parse_revenue_requirement`.

    Returns
    -------
    RevenueRequirement
        Amounts in $ per year.

    Raises
    ------
    ratedesign.errors.InputError
        The file cannot be read, is not YAML, or its fields are invalid.
    """
    data = read_yaml(path, "revenue requirement (utility_revenue_requirement)", storage_options)
    return parse_revenue_requirement(data, str(path), **kwargs)


__all__ = ["RevenueRequirement", "load_revenue_requirement", "parse_revenue_requirement"]
