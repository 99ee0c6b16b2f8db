#!/usr/bin/env Rscript
# Calibrate laser-cholera from R with MOSAIC-shaped `config` and `priors` lists, through reticulate,
# and read the simulations back from the store as a data frame.
#
#   RETICULATE_PYTHON=/path/to/venv/bin/python Rscript examples/cholera/calibrate.R [STORE] [SIMS] [SCHEDULER]
#
# STORE: directory or s3://bucket/prefix (default: a temporary directory). SIMS: cap on the number
# of simulations (default 20). SCHEDULER: address of a running Dask scheduler, e.g.
# tcp://10.0.0.1:8786 (default: an embedded local cluster with 2 workers). A runfleet cluster
# profile works too: cluster = "hpc" instead of scheduler = ...
args <- commandArgs(trailingOnly = TRUE)
store <- if (length(args) >= 1) args[[1]] else file.path(tempdir(), "cholera-calibration")
n_sims <- if (length(args) >= 2) as.integer(args[[2]]) else 20L
scheduler <- if (length(args) >= 3) args[[3]] else NULL

suppressPackageStartupMessages(library(reticulate))
cholera <- import("cholera.api")

# config: MOSAIC's config list, holding what differs from the bundled laser-cholera parameter set
# (which is MOSAIC's default config): the locations, the period, and parameter values.
config <- list(
  location_name = c("ETH", "MOZ"),  # ISO3 codes; cholera$locations() lists the 40 available
  date_start = "2023-02-01",        # the bundled start (the only one allowed)
  date_stop = as.Date("2023-02-20"), # 20 days: a quick example (an R Date or "YYYY-MM-DD")
  rho_deaths = 0.6,                 # scalar parameter
  theta_j = c(0.5, 0.6)             # per-location parameter: one value per location_name
)

# priors: MOSAIC's priors list: global parameters, and location-specific ones by ISO3 code
priors <- list(
  metadata = list(version = "example", description = "transmission and reporting"),
  parameters_global = list(
    rho = list(description = "proportion of symptomatic infections reported",
               distribution = "beta", parameters = list(shape1 = 4, shape2 = 11)),
    alpha_1 = list(description = "population mixing exponent",
                   distribution = "beta", parameters = list(shape1 = 3, shape2 = 8))
  ),
  parameters_location = list(
    beta_j0_hum = list(
      description = "baseline human-to-human transmission rate (per day)",
      location = list(
        ETH = list(distribution = "lognormal", parameters = list(meanlog = log(4e-6), sdlog = 0.7)),
        MOZ = list(distribution = "lognormal", parameters = list(meanlog = log(8e-6), sdlog = 0.7))
      )
    )
  )
)

res <- cholera$calibrate(
  config = config,
  priors = priors,
  sims = n_sims,          # cap; the stopping rule may end earlier
  store = store,
  seed = 1L,
  n_iter = 2L,            # stochastic iterations per simulation
  batch = 5L,
  n_ppc = 2L,             # distinct posterior-predictive simulations
  workers = 2L,           # embedded local cluster size (ignored with a scheduler)
  scheduler = scheduler   # NULL: embedded local cluster
)
cat(res$summary, "\n")    # failures by error class, ESS, posterior (or a warning), predictive check

# Results from the store as data frames (read by pyarrow in Python: Debian has no R arrow package;
# with arrow installed, arrow::read_parquet(file.path(res$results_url, "sims.parquet")) is the same)
sims <- as.data.frame(cholera$simulations(store, as_dict = TRUE), check.names = FALSE)
post <- as.data.frame(cholera$summary(store, as_dict = TRUE), check.names = FALSE)
cat(sprintf("simulation rows: %d (%s)\n", nrow(sims), paste(head(names(sims), 6), collapse = ", ")))
cat(sprintf("posterior rows: %d; ESS %.3g\n", nrow(post), post$ess[1]))
cat(sprintf("best log-likelihood %.1f (%s)\n", max(sims$ll), sims$sim[which.max(sims$ll)]))
