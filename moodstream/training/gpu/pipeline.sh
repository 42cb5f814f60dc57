#!/usr/bin/env bash
# The GPU sitting of docs/training.md ("Trained on a GPU"), from the repository's root:
#   moodstream/training/gpu/pipeline.sh [WORK]        (default WORK: gpu-work)
# 1. the classifier's micro-benchmark on the accelerator; 2. three teachers trained side by side;
# 3. their exports and evaluations, one by one and as an ensemble; 4. three students trained side by side
# on the teachers' soft targets; 5. the students' exports, evaluations and micro-benchmarks.
# Each training stops at TEACHER_S / STUDENT_S seconds (--time-limit); running the script again resumes the
# unfinished runs and skips finished steps. SMOKE="--epochs 1 --max-train 512 --max-val 256" tries it all
# in minutes on a CPU. Needs data/fer2013.npz (`moodstream pack-data --out data/fer2013.npz`).
set -uo pipefail
W=${1:-gpu-work}
TEACHER_S=${TEACHER_S:-540}
STUDENT_S=${STUDENT_S:-420}
SMOKE=${SMOKE:-}
PY=${PY:-python3}
TEACHERS=(teacher-vgg-a teacher-vgg-b teacher-resemote)
STUDENTS=(student-vgg32 student-vgg32-a50 student-mx32)
export KERAS_BACKEND=${KERAS_BACKEND:-jax} XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
mkdir -p "$W/logs" "$W/eval"

say() { echo "$(date +%T) $*" | tee -a "$W/logs/pipeline.log"; }
ms() { "$PY" -P -m moodstream "$@"; }  # -P: the checkout's moodstream/ never shadows the installed one

train_side_by_side() {  # LIMIT NAME...: one process each, all on the one accelerator
  local limit=$1 pids=() name
  shift
  for name in "$@"; do
    # shellcheck disable=SC2086 # SMOKE is a list of flags
    ms train --run-dir "$W/runs/$name" --train-config "moodstream/training/configs/gpu/$name.toml" \
      --time-limit "$limit" $SMOKE >>"$W/logs/$name.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" && say "trained ${*:$((i + 1)):1}" || say "FAILED ${*:$((i + 1)):1} (see $W/logs)"
  done
}

export_and_evaluate() {  # RUN-NAME MODEL-NAME
  ms export "$W/runs/$1" --out "models/$2" >>"$W/logs/export.log" 2>&1 || { say "export $1 failed"; return 1; }
  ms evaluate "models/$2" --data data/fer2013.npz --out "$W/eval/$2" >"$W/eval/$2.txt" 2>&1
  ms evaluate "models/$2" --data data/fer2013.npz --tta --out "$W/eval/$2-tta" >"$W/eval/$2-tta.txt" 2>&1
  say "$2: $(grep -m1 -i accuracy "$W/eval/$2.txt"); mirror-averaged: $(grep -m1 -i accuracy "$W/eval/$2-tta.txt")"
}

unfinished() {  # NAME...: those whose run has no finished summary yet
  local name
  for name in "$@"; do
    grep -qs '"finished": true' "$W/runs/$name/summary.json" || echo "$name"
  done
}

bench() {  # MODEL-FOLDER: the classifier's micro-benchmark on this machine, once per model
  local out="$W/bench-$(basename "$1").json"
  [ -s "$out" ] && return 0
  ms bench --classifier-only --model "$1" --batch-sizes 32,128,512,1024 --rounds 5 --json \
    >"$out" 2>>"$W/logs/bench.log" && say "bench $(cat "$out")"
}

say "start: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo no GPU), backend $KERAS_BACKEND"
bench "${BENCH_MODEL:-models/fer-mx32}"
mapfile -t todo < <(unfinished "${TEACHERS[@]}")
[ ${#todo[@]} -gt 0 ] && train_side_by_side "$TEACHER_S" "${todo[@]}"
# A teacher that the time limit stopped is used as it is (its best epoch); running again trains it further.
for t in "${TEACHERS[@]}"; do export_and_evaluate "$t" "$t"; done
teacher_models=("${TEACHERS[@]/#/models/}")
ms evaluate "${teacher_models[@]}" --data data/fer2013.npz --tta --out "$W/eval/ensemble-tta" \
  >"$W/eval/ensemble-tta.txt" 2>&1 && say "ensemble: $(grep -m1 -i accuracy "$W/eval/ensemble-tta.txt")"
mapfile -t todo < <(unfinished "${STUDENTS[@]}")
[ ${#todo[@]} -gt 0 ] && train_side_by_side "$STUDENT_S" "${todo[@]}"
for s in "${STUDENTS[@]}"; do export_and_evaluate "$s" "fer-${s#student-}d" && bench "models/fer-${s#student-}d"; done
say "done"
