"""URDB-style tariff JSON -> dense period/tier arrays; calibrated tariff in PySAM shape.

Sources: the OpenEI Utility Rate Database (URDB) rate schema
(https://openei.org/services/doc/rest/util_rates/), NREL PySAM's ``Utilityrate5`` tariff inputs
(``ur_ec_tou_mat``, https://nrel-pysam.readthedocs.io/), and the rate-design platform's tariff
handling (switchbox-data/rate-design-platform, ``utils/mid/copy_calibrated_tariff_from_run.py``).

Units: rates and adjustments in $/kWh (for gas tariffs: $/therm, same schema), tier ``max`` in
kWh (therms) per month and per period, fixed and minimum charges in $/month.
"""

from __future__ import annotations

import logging
import math
import posixpath
from dataclasses import dataclass, field

import numpy as np

from ratedesign.errors import InputError
from ratedesign.fsio import read_json

log = logging.getLogger("ratedesign")

#: CAIRO's sentinel for "no tier ceiling" in ``ur_ec_tou_mat``.
MAX_USAGE_SENTINEL = 1e38


@dataclass(frozen=True)
class Tariff:
    """One tariff, 0-based periods and tiers.

    Parameters
    ----------
    key : str
        Tariff key (the JSON file stem; matches the tariff map's ``tariff_key``).
    weekday_schedule : ndarray of int, shape (12, 24)
        Period index by month and hour of day on weekdays (URDB ``energyweekdayschedule``).
    weekend_schedule : ndarray of int, shape (12, 24)
        The same for weekends (``energyweekendschedule``).
    rate : ndarray, shape (P, T)
        $/kWh; tiers beyond a period's own tiers are padding with rate 0.
    adj : ndarray, shape (P, T)
        $/kWh adjustment added to ``rate``.
    tier_max : ndarray, shape (P, T)
        Cumulative monthly ceiling of each tier, kWh per month; ``inf`` for the last (and
        padding) tiers.
    n_tiers : ndarray of int, shape (P,)
        Real number of tiers of each period.
    fixed_charge : float, default 0.0
        $/month (``fixedchargefirstmeter``).
    min_charge : float, default 0.0
        $/month (``mincharge``).
    source : str, default ""
        Where it was read from (for messages).
    item : dict
        The original URDB item (metadata carried into outputs).

    References
    ----------
    .. [1] OpenEI Utility Rate Database (URDB) API, rate fields,
       https://openei.org/services/doc/rest/util_rates/
    """

    key: str
    weekday_schedule: np.ndarray
    weekend_schedule: np.ndarray
    rate: np.ndarray
    adj: np.ndarray
    tier_max: np.ndarray
    n_tiers: np.ndarray
    fixed_charge: float = 0.0
    min_charge: float = 0.0
    source: str = ""
    item: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_periods(self) -> int:
        """Number of TOU/seasonal periods P."""
        return int(self.rate.shape[0])

    @property
    def n_tier_slots(self) -> int:
        """Tier axis length T (max tiers over periods)."""
        return int(self.rate.shape[1])

    @property
    def price(self) -> np.ndarray:
        """(P, T) billed price rate + adj in $/kWh."""
        return self.rate + self.adj

    def with_rates(self, rate: np.ndarray, key: str | None = None) -> "Tariff":
        """Copy with new (P, T) rates and adj = 0 (used for the calibrated tariff)."""
        rate = np.where(self._real_tier_mask(), np.asarray(rate, dtype=float), 0.0)
        return Tariff(key=key or self.key, weekday_schedule=self.weekday_schedule,
                      weekend_schedule=self.weekend_schedule, rate=rate,
                      adj=np.zeros_like(rate), tier_max=self.tier_max, n_tiers=self.n_tiers,
                      fixed_charge=self.fixed_charge, min_charge=self.min_charge,
                      source=self.source, item=self.item)

    def billing_tier_max(self) -> np.ndarray:
        """(P, T) cumulative tier ceilings used for billing: the last real tier of every period is
        unbounded (kWh above a declared last ``max`` stay in the last tier, none are dropped)."""
        out = self.tier_max.copy()
        out[np.arange(self.n_periods), self.n_tiers - 1] = np.inf
        return out

    def _real_tier_mask(self) -> np.ndarray:
        return np.arange(self.n_tier_slots)[None, :] < self.n_tiers[:, None]


def _schedule(item: dict, name: str, source: str, n_periods: int) -> np.ndarray:
    if name not in item:
        raise InputError(f"tariff {source}: field {name!r} is missing; expected a 12x24 list of "
                         f"0-based period indices")
    try:
        arr = np.asarray(item[name], dtype=np.int64)
    except (TypeError, ValueError):
        raise InputError(f"tariff {source}: field {name!r} must be a 12x24 list of integers") from None
    if arr.shape != (12, 24):
        raise InputError(f"tariff {source}: field {name!r} has shape {arr.shape}; expected 12x24")
    if arr.min() < 0 or arr.max() >= n_periods:
        raise InputError(f"tariff {source}: field {name!r} uses period {int(arr.max())} but "
                         f"'energyratestructure' has only {n_periods} period(s) (0-based indices)")
    return arr


def _number(value, what: str, source: str, default=None) -> float:
    if value is None:
        if default is None:
            raise InputError(f"tariff {source}: field {what!r} is missing; expected a number")
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"tariff {source}: field {what!r} is {value!r}; expected a number") from None


#: older URDB field names -> current ones (URDB API v3/v4 -> v7), read with a warning
LEGACY_FIELDS = {"fixedmonthlycharge": "fixedchargefirstmeter", "minmonthlycharge": "mincharge"}
#: older URDB fields the bill formula cannot honour: refused when non-zero
REFUSED_FIELDS = ("annualmincharge", "minannualcharge")


def _legacy_fields(item: dict, source: str) -> dict:
    """Map older URDB names (``fixedmonthlycharge``, ``minmonthlycharge``) to today's, never silently 0.

    Raises
    ------
    InputError
        When an old and a new name carry different values, or an annual minimum charge is set.
    """
    out = dict(item)
    for old, new in LEGACY_FIELDS.items():
        if old not in item:
            continue
        v_old = _number(item[old], old, source)
        if new in item and item[new] is not None:
            v_new = _number(item[new], new, source)
            if abs(v_new - v_old) > 1e-9:
                raise InputError(f"tariff {source}: field {old!r} (older URDB name) = {v_old} contradicts "
                                 f"field {new!r} = {v_new}; keep one of them")
        else:
            log.warning("tariff %s: reading older URDB field %r as %r (%s $/month)", source, old, new, v_old)
            out[new] = v_old
            out.setdefault("fixedchargeunits" if new == "fixedchargefirstmeter" else "minchargeunits", "$/month")
    for name in REFUSED_FIELDS:
        if item.get(name) not in (None, 0, 0.0, "0"):
            raise InputError(f"tariff {source}: field {name!r} (an annual minimum charge, older URDB field) is "
                             f"{item[name]!r}; only monthly minimum charges ('mincharge', $/month) are supported")
    return out


def parse_tariff(payload: dict, key: str, source: str = "<dict>") -> Tariff:
    """Parse a URDB ``{"items": [item]}`` payload (or a bare item dict) into a Tariff.

    Parameters
    ----------
    payload : dict
        The parsed JSON (older URDB field names ``fixedmonthlycharge``, ``minmonthlycharge`` are
        accepted).
    key : str
        The tariff key.
    source : str, default "<dict>"
        Where the payload came from (for messages).

    Returns
    -------
    Tariff
        Rates in $/kWh, tier ceilings in kWh per month, charges in $/month.

    Raises
    ------
    ratedesign.errors.InputError
        A missing or malformed field (one line naming the tariff and the field).

    References
    ----------
    .. [1] OpenEI Utility Rate Database (URDB) API, rate fields,
       https://openei.org/services/doc/rest/util_rates/
    """
    item = payload
    if isinstance(payload, dict) and "items" in payload:
        items = payload["items"]
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            raise InputError(f"tariff {source}: field 'items' must be a non-empty list of tariff objects")
        item = items[0]
    if not isinstance(item, dict):
        raise InputError(f"tariff {source}: expected a JSON object with 'items'")
    ers = item.get("energyratestructure")
    if not isinstance(ers, list) or not ers:
        raise InputError(f"tariff {source}: field 'energyratestructure' is missing or empty; expected "
                         f"one list of tier objects {{rate, adj, max}} per period")
    n_periods = len(ers)
    n_tiers = np.array([len(p) if isinstance(p, list) else 0 for p in ers], dtype=np.int64)
    if (n_tiers == 0).any():
        bad = int(np.argmin(n_tiers))
        raise InputError(f"tariff {source}: field 'energyratestructure[{bad}]' must be a non-empty list of tiers")
    t = int(n_tiers.max())
    rate = np.zeros((n_periods, t))
    adj = np.zeros((n_periods, t))
    tier_max = np.full((n_periods, t), np.inf)
    for p, tiers in enumerate(ers):
        prev = -np.inf
        for j, tier in enumerate(tiers):
            where = f"energyratestructure[{p}][{j}]"
            if not isinstance(tier, dict):
                raise InputError(f"tariff {source}: field {where!r} must be an object with 'rate'")
            rate[p, j] = _number(tier.get("rate"), f"{where}.rate", source)
            adj[p, j] = _number(tier.get("adj"), f"{where}.adj", source, default=0.0)
            unit = tier.get("unit", "kWh")
            if unit not in ("kWh", "kwh", "therms", "therm"):
                raise InputError(f"tariff {source}: field {where + '.unit'!r} is {unit!r}; only "
                                 f"monthly energy units ('kWh') are supported")
            if tier.get("max") is not None:
                m = _number(tier.get("max"), f"{where}.max", source)
                if not m > prev:
                    raise InputError(f"tariff {source}: field {where + '.max'!r} = {m} must exceed the "
                                     f"previous tier's max ({prev}); tiers are cumulative kWh/month")
                tier_max[p, j] = m if m < MAX_USAGE_SENTINEL else np.inf
                prev = m
            elif j < len(tiers) - 1:
                raise InputError(f"tariff {source}: field {where + '.max'!r} is missing; every tier but "
                                 f"the last needs a monthly kWh ceiling")
    wk = _schedule(item, "energyweekdayschedule", source, n_periods)
    we = _schedule(item, "energyweekendschedule", source, n_periods)
    item = _legacy_fields(item, source)
    fixed = _number(item.get("fixedchargefirstmeter"), "fixedchargefirstmeter", source, default=0.0)
    units = item.get("fixedchargeunits", "$/month")
    if fixed and units != "$/month":
        raise InputError(f"tariff {source}: field 'fixedchargeunits' is {units!r}; expected '$/month'")
    minc = _number(item.get("mincharge"), "mincharge", source, default=0.0)
    munits = item.get("minchargeunits", "$/month")
    if minc and munits != "$/month":
        raise InputError(f"tariff {source}: field 'minchargeunits' is {munits!r}; expected '$/month'")
    return Tariff(key=key, weekday_schedule=wk, weekend_schedule=we, rate=rate, adj=adj,
                  tier_max=tier_max, n_tiers=n_tiers, fixed_charge=fixed, min_charge=minc,
                  source=source, item=item)


def tariff_key_from_path(path: str) -> str:
    """The tariff key of a tariff JSON: its file stem.

    Parameters
    ----------
    path : str
        Local path or URL (``.../rie_default.json``).

    Returns
    -------
    str
        The stem (``rie_default``).
    """
    base = posixpath.basename(str(path).rstrip("/"))
    return base[:-5] if base.endswith(".json") else base


def load_tariff(path: str, storage_options: dict | None = None, key: str | None = None) -> Tariff:
    """Read and parse one tariff JSON (local or s3://).

    Parameters
    ----------
    path : str
        Local path or URL.
    storage_options : dict, optional
        fsspec options for URLs.
    key : str, optional
        The tariff key; default: :func:`tariff_key_from_path`.

    Returns
    -------
    Tariff
        The parsed tariff.

    Raises
    ------
    ratedesign.errors.InputError
        The file cannot be read, is not JSON, or is not a valid URDB tariff.
    """
    payload = read_json(path, "tariff", storage_options)
    return parse_tariff(payload, key or tariff_key_from_path(path), source=str(path))


def relative_rates(tariff: Tariff, decimals: int = 4) -> np.ndarray:
    """Relative rates rel_{p,t} = round((rate+adj)_{p,t} / min over real (p',t') of (rate+adj), 4).

    The shape of the tariff that precalc calibration keeps; padding tiers get 0.

    Parameters
    ----------
    tariff : Tariff
        The input tariff (``price`` = rate + adj in $/kWh, shape (P, T)).
    decimals : int, default 4
        Rounding of the ratios, as the platform's precalc mapping does.

    Returns
    -------
    ndarray, shape (P, T)
        Dimensionless; 1 for the cheapest real (period, tier).

    Raises
    ------
    ratedesign.errors.InputError
        The cheapest energy price is not > 0.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/pre/generate_precalc_mapping.py`` and
       ``context/code/cairo/cairo_tiered_rates_support.md``; ../shared/rate_design_spec.md S5.
    """
    price = tariff.price
    mask = tariff._real_tier_mask()
    low = price[mask].min()
    if not low > 0:
        raise InputError(f"tariff {tariff.source}: precalc needs all energy prices (rate+adj) > 0 to form "
                         f"relative rates; the lowest is {low}")
    return np.where(mask, np.round(price / low, decimals), 0.0)


def to_pysam(tariff: Tariff) -> dict:
    """The tariff in CAIRO's PySAM shape (one value of ``tariff_final_config.json``).

    Parameters
    ----------
    tariff : Tariff
        The (calibrated) tariff.

    Returns
    -------
    dict
        ``ur_ec_tou_mat`` rows [period (1-based), tier (1-based), max_usage (kWh, 1e38 = none),
        unit (0 = kWh), rate ($/kWh), adj ($/kWh), sell ($/kWh)], ``ur_monthly_fixed_charge``
        ($/month) and 1-based 12x24 schedules.

    References
    ----------
    .. [1] NREL PySAM, ``Utilityrate5`` (``ur_ec_tou_mat``, ``ur_ec_sched_weekday``),
       https://nrel-pysam.readthedocs.io/
    .. [2] switchbox-data/rate-design-platform, ``utils/mid/copy_calibrated_tariff_from_run.py``.
    """
    rows = []
    for p in range(tariff.n_periods):
        for t in range(int(tariff.n_tiers[p])):
            mx = tariff.tier_max[p, t]
            rows.append([p + 1, t + 1, float(MAX_USAGE_SENTINEL if math.isinf(mx) else mx), 0,
                         float(tariff.rate[p, t]), float(tariff.adj[p, t]), 0.0])
    return {
        "ur_ec_tou_mat": rows,
        "ur_ec_sched_weekday": (tariff.weekday_schedule + 1).tolist(),
        "ur_ec_sched_weekend": (tariff.weekend_schedule + 1).tolist(),
        "ur_monthly_fixed_charge": float(tariff.fixed_charge),
        "ur_monthly_min_charge": float(tariff.min_charge),
        "ur_metering_option": 0,
        "ur_dc_enable": 0,
    }


def to_urdb(tariff: Tariff) -> dict:
    """The tariff back in URDB ``{"items": [...]}`` shape (0-based schedules).

    Parameters
    ----------
    tariff : Tariff
        The tariff (e.g. calibrated by a precalc run).

    Returns
    -------
    dict
        ``{"items": [item]}`` with ``energyratestructure`` ($/kWh, ``max`` in kWh per month) and
        the 12x24 schedules; the other fields of the original item are kept.

    References
    ----------
    .. [1] OpenEI Utility Rate Database (URDB) API, rate fields,
       https://openei.org/services/doc/rest/util_rates/
    """
    item = {k: v for k, v in tariff.item.items()
            if k not in ("energyratestructure", "energyweekdayschedule", "energyweekendschedule")}
    ers = []
    for p in range(tariff.n_periods):
        tiers = []
        for t in range(int(tariff.n_tiers[p])):
            d = {"rate": float(tariff.rate[p, t]), "adj": float(tariff.adj[p, t]), "unit": "kWh"}
            if not math.isinf(tariff.tier_max[p, t]):
                d["max"] = float(tariff.tier_max[p, t])
            tiers.append(d)
        ers.append(tiers)
    item.update(label=tariff.key, name=tariff.key, energyratestructure=ers,
                energyweekdayschedule=tariff.weekday_schedule.tolist(),
                energyweekendschedule=tariff.weekend_schedule.tolist(),
                fixedchargefirstmeter=float(tariff.fixed_charge), fixedchargeunits="$/month",
                mincharge=float(tariff.min_charge), minchargeunits="$/month")
    return {"items": [item]}


__all__ = ["MAX_USAGE_SENTINEL", "Tariff", "load_tariff", "parse_tariff", "relative_rates", "tariff_key_from_path",
           "to_pysam", "to_urdb"]
