#!/usr/bin/env Rscript
# Calibrate the laser-cholera model from R, as MOSAIC's R code would, through reticulate.
#
#   RETICULATE_PYTHON=/path/to/venv/bin/python Rscript examples/cholera/calibrate.R [STORE] [SIMS]
#
# The Python side (cholera.api) takes and returns plain types: character vectors, integers,
# lists; the posterior and the simulation table come back as named lists of columns.
args <- commandArgs(trailingOnly = TRUE)
store <- if (length(args) >= 1) args[[1]] else file.path(tempdir(), "cholera-calibration")
sims <- if (length(args) >= 2) as.integer(args[[2]]) else 20L

suppressPackageStartupMessages(library(reticulate))
cholera <- import("cholera.api")

res <- cholera$calibrate(
  locations = c("ETH", "MOZ"),  # ISO3 codes; cholera$locations() lists them all
  sims = sims,                  # cap on the number of simulations
  store = store,                # directory or s3://bucket/prefix (storage_options = list(...))
  days = 30L,                   # short simulated period for a quick example
  seed = 1L,
  n_iter = 2L,                  # stochastic iterations per simulation
  batch = 5L,
  n_ppc = 2L,
  workers = 2L
)
cat(sprintf("stopped by %s after %d sims (%d done, %d failed, %d resumed); ESS %.1f\n",
            res$stop_reason, res$sims_submitted, res$done, res$failed, res$resumed, res$ess))

# as_dict = TRUE returns {column: values}, which as.data.frame() turns into a data.frame
# (reticulate up to 1.3x cannot convert pandas 3 DataFrames itself)
post <- as.data.frame(cholera$summary(store, as_dict = TRUE))   # one row per parameter and location
print(post[, c("parameter", "location", "prior_mean", "mean", "q2.5", "q50", "q97.5")], digits = 3)

runs <- as.data.frame(cholera$simulations(store, as_dict = TRUE))  # one row per simulation
cat(sprintf("simulation rows: %d; best log-likelihood %.1f\n", nrow(runs), max(runs$ll)))
cat(sprintf("plot: %s\n", res$files$ppc_png))
