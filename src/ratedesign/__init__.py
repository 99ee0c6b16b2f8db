"""ratedesign: CAIRO-style rate design and the Bill Alignment Test on ResStock-format loads.

Stages (see docs/ratedesign.md and the shared rate_design_spec.md):

- ``calendar``        hours of the run year, weekday-aligned year shift (S1.1)
- ``tariff``          URDB tariff JSON -> period/tier arrays, PySAM output shape (S4, S5)
- ``kernels``         the numpy math of S2 and S4-S9 on dense buildings x hours arrays
- ``loads``           per-building parquet reading, PV netting, floor, gas therms (S1)
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
