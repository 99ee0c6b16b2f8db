"""Hand-computed example of rate_design_spec.md section 5, tiers and year shift by hand."""

import numpy as np
import pytest

from ratedesign import kernels as K
from ratedesign.calendar import HourCalendar, rotate_hours, shift_timestamps, shift_year, weekday_shift_days
from ratedesign.pipeline import run_arrays
from ratedesign.tariff import parse_tariff, relative_rates

NET = np.array([[1, 2, 3, 2], [2, 2, 2, 2], [0, 1, 4, 5]], dtype=float)
W = np.array([2.0, 1.0, 1.0])
MC = np.array([0.05, 0.05, 0.20, 0.10])
RR = 30.0
# 4 hours standing in for a year: one billing month, hours 0..3 of a weekday
CAL = HourCalendar.custom(month=[0, 0, 0, 0], hour_of_day=[0, 1, 2, 3], is_weekday=[True] * 4, n_months=1)


def tariff(periods_by_hour, rates, fixed=1.0, key="t", tiers=None, weekend=None):
    wk = [[0] * 24 for _ in range(12)]
    for m in range(12):
        for h, p in enumerate(periods_by_hour):
            wk[m][h] = p
    ers = [[{"rate": r, "adj": 0.0, "unit": "kWh"}] for r in rates or []]
    if tiers is not None:
        ers = tiers
    return parse_tariff({"items": [{"energyweekdayschedule": wk, "energyweekendschedule": weekend or wk,
                                    "energyratestructure": ers, "fixedchargefirstmeter": fixed,
                                    "fixedchargeunits": "$/month"}]}, key)


FLAT = tariff([0, 0, 0, 0], [0.10])
TOU = tariff([0, 0, 1, 1], [0.10, 0.20])


def run(t, **kw):
    return run_arrays(NET, W, [t], MC, RR, calendar=CAL, peak_hours=[2], **kw)


def test_global_quantities():
    d = K.system_demand(NET, W)
    np.testing.assert_allclose(d, [4, 7, 12, 11])
    assert d @ MC == pytest.approx(4.05, abs=1e-12)
    eb = K.economic_burden(NET, MC)
    np.testing.assert_allclose(eb, [0.95, 0.80, 1.35], atol=1e-12)
    r = run(FLAT)
    assert r.globals.residual == pytest.approx(25.95, abs=1e-12)
    assert r.globals.total_kwh == pytest.approx(34)
    assert r.globals.total_burden == pytest.approx(4.05)


def test_residual_shares_hand_example():
    b = run(FLAT).bat
    np.testing.assert_allclose(b["customer_level_residual_share_percustomer"], [6.4875] * 3, atol=1e-12)
    np.testing.assert_allclose(b["customer_level_residual_share_volumetric"], [6.105882, 6.105882, 7.632353], atol=1e-6)
    np.testing.assert_allclose(b["customer_level_residual_share_epmc"], [6.087037, 5.125926, 8.65], atol=1e-6)
    np.testing.assert_allclose(b["customer_level_residual_share_peak"], [6.4875, 4.325, 8.65], atol=1e-12)
    for c in [c for c in b.columns if c.startswith("customer_level_residual_share_")]:
        assert (W @ b[c]) == pytest.approx(25.95, abs=1e-9)


def test_flat_precalc_hand_example():
    r = run(FLAT)
    assert r.globals.levels[0] == pytest.approx(26 / 34, abs=1e-12)  # 0.764706 $/kWh
    b = r.bat
    np.testing.assert_allclose(b["Annual"], [7.117647, 7.117647, 8.647059], atol=1e-6)
    assert W @ b["Annual"] == pytest.approx(30.0, abs=1e-9)
    np.testing.assert_allclose(b["BAT_percustomer"], [-0.319853, -0.169853, 0.809559], atol=1e-6)
    np.testing.assert_allclose(b["BAT_vol"], [0.061765, 0.211765, -0.335294], atol=1e-6)
    np.testing.assert_allclose(b["BAT_epmc"], [0.080610, 1.191721, -1.352941], atol=1e-6)
    np.testing.assert_allclose(b["BAT_peak"], [-0.319853, 1.992647, -1.352941], atol=1e-6)
    for c in ("BAT_percustomer", "BAT_vol", "BAT_epmc", "BAT_peak"):
        assert W @ b[c] == pytest.approx(0.0, abs=1e-9)
    cal = r.calibrated["t"]
    assert cal.rate[0, 0] == pytest.approx(26 / 34) and cal.adj[0, 0] == 0


def test_tou_precalc_hand_example():
    np.testing.assert_allclose(relative_rates(TOU), [[1.0], [2.0]])
    r = run(TOU)
    assert r.globals.tariff_wu[0] == pytest.approx(57.0)  # U = [13, 12, 19]
    assert r.globals.levels[0] == pytest.approx(26 / 57, abs=1e-12)  # 0.456140
    np.testing.assert_allclose(r.calibrated["t"].rate[:, 0], [26 / 57, 52 / 57])
    b = r.bat
    np.testing.assert_allclose(b["Annual"], [6.929825, 6.473684, 9.666667], atol=1e-6)
    assert W @ b["Annual"] == pytest.approx(30.0, abs=1e-9)
    np.testing.assert_allclose(b["BAT_percustomer"], [-0.507675, -0.813816, 1.829167], atol=1e-6)
    np.testing.assert_allclose(b["BAT_vol"], [-0.126058, -0.432198, 0.684314], atol=1e-6)
    np.testing.assert_allclose(b["BAT_epmc"], [-0.107212, 0.547758, -0.333333], atol=1e-6)
    np.testing.assert_allclose(b["BAT_peak"], [-0.507675, 1.348684, -0.333333], atol=1e-6)
    for c in ("BAT_percustomer", "BAT_vol", "BAT_epmc", "BAT_peak"):
        assert W @ b[c] == pytest.approx(0.0, abs=1e-9)


def test_default_run_bills_at_input_rates():
    r = run_arrays(NET, W, [TOU], MC, 1e12, calendar=CAL, run_type="default", peak_hours=[2])
    # B1: (1+2)*0.1 + (3+2)*0.2 + 1 = 1.3 + 1 = 2.3
    np.testing.assert_allclose(r.bat["Annual"], [2.3, 2.2, 2.9], atol=1e-12)
    assert r.globals.residual == pytest.approx(1e12 - 4.05)


def test_chunking_does_not_change_results():
    a = run(TOU).bat
    b = run(TOU, chunk_size=1).bat
    np.testing.assert_allclose(a.select_dtypes("number"), b.select_dtypes("number"), rtol=1e-12)


def test_tiered_tariff_by_hand():
    # one period, two tiers: first 5 kWh/month at 0.10, above at 0.30; fixed $2
    t = tariff([0, 0, 0, 0], None, fixed=2.0,
               tiers=[[{"rate": 0.10, "max": 5}, {"rate": 0.30}]])
    q = K.demand_by_tou(NET, CAL, t)
    np.testing.assert_allclose(q[:, 0, 0, :], [[5, 3], [5, 3], [5, 5]])
    e = K.energy_charges(q, t)
    np.testing.assert_allclose(e[:, 0], [0.5 + 0.9, 0.5 + 0.9, 0.5 + 1.5])
    r = run_arrays(NET, W, [t], MC, RR, calendar=CAL, run_type="default")
    np.testing.assert_allclose(r.bat["Annual"], [3.4, 3.4, 4.0])
    # precalc: rel = [1, 3]; U = [5+9, 14, 5+15] = [14, 14, 20]; sum w U = 62; r = (30 - 4*2)/62
    r = run_arrays(NET, W, [t], MC, RR, calendar=CAL)
    lvl = 22 / 62
    assert r.globals.levels[0] == pytest.approx(lvl)
    np.testing.assert_allclose(r.calibrated["t"].rate[0], [lvl, 3 * lvl])
    np.testing.assert_allclose(r.bat["Annual"], [14 * lvl + 2, 14 * lvl + 2, 20 * lvl + 2])
    assert W @ r.bat["Annual"] == pytest.approx(30.0)


def test_tiers_cumulative_three_tiers_and_negative():
    q = np.array([[[[-3.0]], [[0.0]], [[7.0]], [[120.0]]]]).reshape(4, 1, 1)
    tm = np.array([[5.0, 100.0, np.inf]])
    out = K.split_tiers(q, tm)
    np.testing.assert_allclose(out[:, 0, 0, :], [[-3, 0, 0], [0, 0, 0], [5, 2, 0], [5, 95, 20]])


def test_tou_with_weekend_schedule():
    wk = [0, 0, 1, 1]
    t = tariff(wk, [0.1, 0.2], weekend=[[0] * 24 for _ in range(12)])
    cal = HourCalendar.custom(month=[0] * 4, hour_of_day=[0, 1, 2, 3], is_weekday=[True, True, False, True])
    q = K.demand_by_tou(NET, cal, t)
    np.testing.assert_allclose(q[0, 0, :, 0], [1 + 2 + 3, 2])


def test_min_charge():
    e = np.array([[1.0, 8.0]])
    np.testing.assert_allclose(K.monthly_bills(e, 2.0, 5.0), [[5.0, 10.0]])
    np.testing.assert_allclose(K.monthly_bills(e, 2.0, 0.0), [[3.0, 10.0]])


def test_year_shift_2018_to_2025_by_hand():
    assert weekday_shift_days(2018, 2025) == 2
    x = np.arange(8760, dtype=float)[None, :]
    y = shift_year(x, 2018, 2025)
    assert y[0, 0] == 48 and y[0, 8760 - 48] == 0 and y[0, 100] == 148
    np.testing.assert_array_equal(rotate_hours(x, 0), x)
    import pandas as pd
    ts = shift_timestamps(pd.date_range("2018-01-01", periods=3, freq="h"), 2018, 2025)
    assert str(ts[0]) == "2025-01-01 00:00:00-05:00"
    # 2025-01-01 is a Wednesday; 2018-01-03 (hour 48) is a Wednesday too
    assert pd.Timestamp("2018-01-03").day_of_week == pd.Timestamp("2025-01-01").day_of_week == 2
    cal = HourCalendar.for_year(2025)
    assert cal.is_weekday[:24].all() and not cal.is_weekday[3 * 24: 5 * 24].any() and cal.is_weekday[5 * 24]  # Sat 4th, Sun 5th, Mon 6th
    assert cal.month[-1] == 11 and cal.month[31 * 24] == 1


def test_group_stats_weighted_and_unweighted_named():
    st = K.group_stats(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert st["unweighted_mean"] == 2.5 and st["unweighted_median"] == 2.5 and st["weighted_mean"] == 2.5
    # CAIRO's unweighted coefficient of variation (std ddof 1 / mean) and quartile coefficient of
    # dispersion with linear quartiles Q1 = 1.75, Q3 = 3.25
    assert st["unweighted_cv"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2.5)
    assert st["unweighted_qcd"] == pytest.approx((3.25 - 1.75) / (3.25 + 1.75))
    # weighted quartiles (midpoint rule): 1.5 and 3.5
    assert st["weighted_qcd"] == pytest.approx((3.5 - 1.5) / (3.5 + 1.5))
    # weights move only the weighted statistics
    st2 = K.group_stats(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 1.0, 1.0, 1.0]))
    assert st2["unweighted_mean"] == 2.5 and st2["unweighted_qcd"] == st["unweighted_qcd"]
    assert st2["weighted_mean"] == pytest.approx((3 + 2 + 3 + 4) / 6) and st2["weighted_sum"] == pytest.approx(12.0)
    assert st2["customers"] == 6.0 and st2["n"] == 4


def test_hour_class_sums_give_every_tariffs_period_and_tier_kwh():
    """kWh by month, period and tier from the 576 hour-class sums equal those from the hours, for a
    tiered TOU tariff whose weekends differ; and the flex class totals by season and period."""
    from ratedesign.flex import class_period_kwh, class_period_kwh_from_classes

    cal = HourCalendar.for_year(2025)
    rng = np.random.default_rng(3)
    net = rng.gamma(2.0, 0.6, size=(5, 8760))
    wk = [[1 if 16 <= h < 21 else 0 for h in range(24)] for _ in range(12)]
    we = [[2 if (5 <= m <= 8 and 12 <= h < 15) else 0 for h in range(24)] for m in range(12)]
    ers = [[{"rate": 0.1, "max": 300.0}, {"rate": 0.12}], [{"rate": 0.3}], [{"rate": 0.2}]]
    t = parse_tariff({"items": [{"energyweekdayschedule": wk, "energyweekendschedule": we,
                                 "energyratestructure": ers, "fixedchargefirstmeter": 5.0}]}, "tou")
    classes = K.class_sums(net, cal)
    assert classes.shape == (5, 576)
    np.testing.assert_allclose(classes.sum(axis=1), net.sum(axis=1), rtol=1e-12)
    got = K.demand_by_tou_classes(classes, cal, t)
    want = K.demand_by_tou(net, cal, t)
    assert got.shape == want.shape == (5, 12, 3, 2)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    assert (got[:, :, 0, 1] > 0).any()  # the 300 kWh tier ceiling binds in some months
    winter = [10, 11, 12, 1, 2, 3]
    np.testing.assert_allclose(class_period_kwh_from_classes(classes, cal, t, winter),
                               class_period_kwh(net, cal, t, winter), rtol=1e-12)
