"""cholera: calibrate the laser-cholera metapopulation model with runfleet.

Modules: ``config`` (the settings, a pydantic model), ``priorspec`` (pydantic models of a
priors file), ``priors`` (priors: parsing, sampling, log density), ``mosaic`` (MOSAIC-shaped R
``config`` and ``priors`` lists), ``validation`` (one-line messages from pydantic errors),
``model`` (laser-cholera wrapper that
returns arrays only), ``likelihood`` (negative-binomial likelihood, log-mean-exp), ``weights``
(importance weights, ESS, weighted quantiles), ``sim`` (the runfleet run functions),
``stopping`` (the stopping rule), ``calibrate`` (the adaptive driver), ``posterior`` and ``ppc``
(summaries and plot), ``report`` (the text summary), ``outputs`` (store layout), ``api``
(plain types, for R), ``cli``.
See docs/cholera.md.
"""

__version__ = "0.1.0"
