#!/usr/bin/env bash
# Stop what slurm_up.sh started: cancel jobs, stop slurmctld/slurmd (scontrol, then by PID), then munged.
set -u
scancel --user=root >/dev/null 2>&1 || true
scontrol shutdown >/dev/null 2>&1 || true
for i in $(seq 20); do
  alive=0
  for f in /run/slurm/slurmctld.pid /run/slurm/slurmd.pid; do
    [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
  done
  [ "$alive" = 0 ] && break
  sleep 0.25
done
for f in /run/slurm/slurmctld.pid /run/slurm/slurmd.pid; do
  if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then kill -9 "$(cat "$f")" 2>/dev/null || true; fi
  rm -f "$f"
done
if [ -f /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
echo "slurm_down: stopped"
exit 0
