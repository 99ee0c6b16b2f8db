#!/usr/bin/env bash
# Installs the Debian packages that the SLURM, R and HTML-report (headless Chromium) tests need. Only as root with apt;
# elsewhere it says why it does nothing and the tests that need them skip with a reason.
set -u
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not root or no apt-get; SLURM, R and Chromium tests will be skipped"
  exit 0
fi
need=()
command -v slurmctld >/dev/null 2>&1 || need+=(slurmctld slurmd slurm-client munge)
command -v Rscript >/dev/null 2>&1 || need+=(r-base-core)
[ -d /usr/lib/R/site-library/reticulate ] || need+=(r-cran-reticulate)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: apt-get install ${need[*]}"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || echo "system-deps: apt-get install failed; the tests that need these packages will skip"
fi
exit 0
