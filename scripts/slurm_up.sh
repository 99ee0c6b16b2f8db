#!/usr/bin/env bash
# Start a single-node SLURM (munged, slurmctld, slurmd) on 127.0.0.1 without systemd and wait
# until the node is idle. Needs root and the Debian packages slurmctld slurmd slurm-client munge
# (scripts/system_deps.sh). Exit 3 = not possible here (not root / packages missing).
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" != "0" ]; then echo "slurm_up: not root" >&2; exit 3; fi
for b in slurmctld slurmd sinfo munged munge; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { echo "slurm_up: $b not installed" >&2; exit 3; }
done
install -d -o munge -g munge -m 755 /run/munge
if ! munge -n </dev/null >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  for i in $(seq 20); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.2; done
fi
./gen_slurm_conf.sh >/dev/null
if ! scontrol ping 2>/dev/null | grep -q UP; then
  /usr/sbin/slurmctld
fi
[ -f /run/slurm/slurmd.pid ] && kill -0 "$(cat /run/slurm/slurmd.pid)" 2>/dev/null || /usr/sbin/slurmd
for i in $(seq 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "slurm_up: node $(hostname -s) $(sinfo -h -o %T | head -1)"
    exit 0
  fi
  scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
  sleep 0.5
done
echo "slurm_up: node did not become idle; see /var/log/slurm/" >&2
exit 1
