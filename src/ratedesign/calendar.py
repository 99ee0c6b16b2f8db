"""Hours of the run year and the weekday-aligned year shift of loads and marginal costs.

The shift and the Cambium relabelling follow the rate-design platform
(switchbox-data/rate-design-platform, ``utils/mid/patches.py::_return_loads_combined`` for loads,
``utils/cairo.py::_align_mc_to_index`` for marginal costs; ../shared/rate_design_spec.md S1 step 1
and S3).

Convention (documented in docs/ratedesign.md): a series of 8760 hourly values is indexed by
*position*; position h is the hour starting at Jan 1 00:00 + h hours of its year (hour-beginning,
fixed-offset EST, no DST, no holidays). For a leap run year the 8760 hours end on Dec 30.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

HOURS_PER_YEAR = 8760
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Sunday-start years to which Cambium series are relabelled before shifting (rate-design platform
#: ``utils/cairo.py``; NREL Cambium data are published for these model years' calendars).
CAMBIUM_SUNDAY_YEARS = (2017, 2023, 2034, 2045, 2051)
EST = dt.timezone(dt.timedelta(hours=-5), "EST")


@dataclass(frozen=True)
class HourCalendar:
    """Per-hour calendar fields of one billing year.

    Parameters
    ----------
    month : ndarray of int, shape (H,)
        0-based billing month of each hour.
    hour_of_day : ndarray of int, shape (H,)
        0..23.
    is_weekday : ndarray of bool, shape (H,)
        Monday to Friday (no holidays).
    n_months : int
        Number of billing months (12 for a year; 1 in the worked example of
        ../shared/rate_design_spec.md section 5, 4 hours long).
    year : int, optional
        Calendar year, or None for a hand-made calendar.
    """

    month: np.ndarray
    hour_of_day: np.ndarray
    is_weekday: np.ndarray
    n_months: int
    year: int | None = None

    @property
    def n_hours(self) -> int:
        """Number of hours H."""
        return int(self.month.shape[0])

    @classmethod
    def for_year(cls, year: int, n_hours: int = HOURS_PER_YEAR) -> "HourCalendar":
        """Calendar of the first ``n_hours`` hours of ``year`` (hour-beginning)."""
        idx = pd.date_range(f"{year}-01-01", periods=n_hours, freq="h")
        return cls(month=np.asarray(idx.month - 1, dtype=np.int64),
                   hour_of_day=np.asarray(idx.hour, dtype=np.int64),
                   is_weekday=np.asarray(idx.day_of_week < 5),
                   n_months=12, year=int(year))

    @classmethod
    def custom(cls, month, hour_of_day, is_weekday, n_months: int | None = None) -> "HourCalendar":
        """Hand-made calendar (tests): arrays of equal length."""
        month = np.asarray(month, dtype=np.int64)
        return cls(month=month, hour_of_day=np.asarray(hour_of_day, dtype=np.int64),
                   is_weekday=np.asarray(is_weekday, dtype=bool),
                   n_months=int(n_months if n_months is not None else month.max() + 1))


def weekday_shift_days(source_year: int, target_year: int) -> int:
    """Weekday shift d = (weekday(Jan 1 target) - weekday(Jan 1 source)) mod 7.

    Parameters
    ----------
    source_year : int
        Year of the series (ResStock AMY2018: 2018).
    target_year : int
        The run year.

    Returns
    -------
    int
        Days in 0..6 (2018 -> 2025: 2).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py::_return_loads_combined``.
    """
    return (dt.date(target_year, 1, 1).weekday() - dt.date(source_year, 1, 1).weekday()) % 7


def rotate_hours(x: np.ndarray, days: int) -> np.ndarray:
    """Rotate the last (hour) axis left by 24 d hours: x'[h] = x[(h + 24 d) mod H].

    Parameters
    ----------
    x : ndarray, shape (..., H)
        Hourly series (any unit).
    days : int
        d, days to rotate by.

    Returns
    -------
    ndarray, shape (..., H)
        The rotated series, same unit.
    """
    if days % 7 == 0:
        return x
    return np.roll(x, -24 * int(days), axis=-1)


def shift_year(x: np.ndarray, source_year: int, target_year: int) -> np.ndarray:
    """Weekday-aligned shift of hourly series from ``source_year`` to ``target_year``.

    Parameters
    ----------
    x : ndarray, shape (..., H)
        Hourly series of ``source_year`` (any unit, e.g. kWh or $/kWh).
    source_year : int
        Year of the series.
    target_year : int
        The run year.

    Returns
    -------
    ndarray, shape (..., H)
        The series rotated by :func:`weekday_shift_days` days, so weekdays fall on weekdays.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py::_return_loads_combined`` (loads) and
       ``utils/cairo.py`` (supply marginal costs); ../shared/rate_design_spec.md S1 step 1.
    """
    return rotate_hours(x, weekday_shift_days(source_year, target_year))


def shift_timestamps(source: pd.DatetimeIndex, source_year: int, target_year: int) -> pd.DatetimeIndex:
    """Move timestamps by (Jan 1 target - Jan 1 source) and label them fixed-offset EST (no DST).

    Parameters
    ----------
    source : pandas.DatetimeIndex, shape (H,)
        Timestamps of ``source_year``.
    source_year : int
        Their year.
    target_year : int
        The run year.

    Returns
    -------
    pandas.DatetimeIndex, shape (H,)
        Timestamps of the run year in the fixed-offset ``EST`` zone.
    """
    delta = pd.Timestamp(f"{target_year}-01-01") - pd.Timestamp(f"{source_year}-01-01")
    src = pd.DatetimeIndex(source)
    if src.tz is not None:
        src = src.tz_localize(None)
    return (src + delta).tz_localize(EST)


def nearest_sunday_year(year: int) -> int:
    """Closest of the Sunday-start years used to relabel Cambium series (ties: the earlier).

    Parameters
    ----------
    year : int
        The Cambium series' year.

    Returns
    -------
    int
        One of ``CAMBIUM_SUNDAY_YEARS``.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/cairo.py`` (Cambium relabelling before the weekday shift).
    """
    return min(CAMBIUM_SUNDAY_YEARS, key=lambda y: (abs(y - year), y))


__all__ = ["CAMBIUM_SUNDAY_YEARS", "EST", "HOURS_PER_YEAR", "HourCalendar", "MONTH_NAMES", "nearest_sunday_year",
           "rotate_hours", "shift_timestamps", "shift_year", "weekday_shift_days"]
