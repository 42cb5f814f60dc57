#!/usr/bin/env bash
# What a GPU sitting brings back (moodstream/training/gpu/pipeline.sh), as at most 8 archives in OUT:
#   results.tgz - logs, benchmarks, evaluations, and every run's config, summary and history;
#   <student>.tgz - each student's run folder with its final network (checkpoints/core.keras), enough for
#   `moodstream export` and `moodstream evaluate` on the CPU. Teachers stay behind (42 MB each).
#   moodstream/training/gpu/collect.sh OUT [WORK]
set -u
OUT=$1
W=${2:-gpu-work}
mkdir -p "$OUT"
runs=()
for run in "$W"/runs/*/; do
  for f in config.json summary.json state.json eval-val history-*.csv; do
    [ -e "$run$f" ] && runs+=("$run$f")
  done
done
tar czf "$OUT/results.tgz" "$W/logs" "$W/eval" "$W"/bench-*.json "${runs[@]}" 2>/dev/null
for run in "$W"/runs/student-*/; do
  [ -f "$run/checkpoints/core.keras" ] || continue
  tar czf "$OUT/$(basename "$run").tgz" --exclude=backup --exclude=best.keras --exclude=last.keras \
    --exclude='*.weights.h5' --exclude=teacher-train.npy "$run"
done
ls -la "$OUT"
