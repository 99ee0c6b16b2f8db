"""cholera: calibrate the laser-cholera metapopulation model with runfleet.

Modules: ``priors`` (YAML priors, sampling, log density), ``model`` (laser-cholera wrapper that
returns arrays only), ``likelihood`` (negative-binomial likelihood, log-mean-exp), ``weights``
(importance weights, ESS, weighted quantiles), ``sim`` (the runfleet run functions),
``stopping`` (the stopping rule), ``calibrate`` (the adaptive driver), ``posterior`` and ``ppc``
(summaries and plot), ``outputs`` (store layout), ``api`` (plain types, for R), ``cli``.
See docs/cholera.md.
"""

__version__ = "0.1.0"
