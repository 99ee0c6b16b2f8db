"""ratedesign: CAIRO-style rate design and the Bill Alignment Test on ResStock-format loads.

Stages S0-S9 are those of ../shared/rate_design_spec.md, which cites, file by file, the code they
follow: the rate-design platform (switchbox-data/rate-design-platform, ``utils/mid/patches.py``,
its re-implementation of CAIRO's stages), CAIRO, and the Bill Alignment Test paper (Simeone et al.,
"The Bill Alignment Test: Identifying trade-offs with residential rate design options", Utilities
Policy, 2023). Inputs: ResStock loads, Cambium marginal costs, URDB tariffs, EIA-861 customer counts.
See docs/ratedesign.md and docs/ratedesign-glossary.md.

- ``calendar``        hours of the run year, weekday-aligned year shift (S1.1)
- ``tariff``          URDB tariff JSON -> period/tier arrays, PySAM output shape (S4, S5)
- ``kernels``         the numpy math of S2 and S4-S9 on dense buildings x hours arrays
- ``loads``           per-building parquet reading (needed columns only), PV netting, floor, gas therms (S1)
- ``loadcache``       per-worker cache of the load files read, keyed by file identity
- ``chunkcache``      per-worker cache of each chunk's reductions (hour-class sums, burden, demand)
- ``marginal_costs``  Cambium CSV / parquet marginal prices (S3)
- ``revenue``         revenue requirement YAML (S5)
- ``buildings``       utility buildings, weights, tariff maps (S0)
- ``scenario``        one run of a platform scenario YAML
- ``pipeline``        chunked per-building pass through a ``mapper(fn, items)`` + global reduction
- ``outputs``         CAIRO-named output files
- ``runfn``           ``cairo_run(ctx, **params)`` for runfleet
- ``reference``       slow long-format pandas implementation for equivalence tests
- ``synth``           deterministic synthetic ResStock-format dataset
"""

from ratedesign.errors import InputError

__all__ = ["InputError"]
