#!/usr/bin/env bash
# The paper's comparisons (RQ1-RQ4) on one set of libraries with one fixed budget, then their tables and report.
#   CONFIG   budget + libraries (default experiments/shared.yaml: the three ../shared/data libraries)
#   RESULTS  results file (default runs/study.jsonl); re-running appends, `compare` uses the latest rows
#   SEEDS    seeds of the cross-dataset comparison (default "0 1 2"; compare averages them)
#   ARGS     extra LightningCLI arguments for every run (e.g. "--trainer.enable_progress_bar false")
set -euo pipefail
CONFIG=${CONFIG:-experiments/shared.yaml}
RESULTS=${RESULTS:-runs/study.jsonl}
SFXREP=${SFXREP:-.venv/bin/sfxrep}
SEEDS=${SEEDS:-0 1 2}
ARGS=${ARGS:-}
train() { "$SFXREP" train --config "$CONFIG" --results "$RESULTS" "$@" ${ARGS:+-- $ARGS}; }

for loss in contrastive triplet circle; do             # RQ1: each metric loss within and cross (seed 0)
  train --scenario within --loss "$loss"
  train --scenario cross --loss "$loss"
done
for seed in $SEEDS; do                                 # RQ2/RQ3 with CE: within vs X-Sequential vs methods
  train --seed "$seed" --scenario within
  train --seed "$seed" --scenario cross
  train --seed "$seed" --scenario cross --mixing joint
  train --seed "$seed" --scenario cross --bn per_library
  train --seed "$seed" --scenario cross --fdr on       # paper threshold 0.9
  train --seed "$seed" --scenario cross --fdr on --fdr-threshold 0.5   # one a short budget reaches
done
train --scenario ucs_transfer                          # RQ2: train on the UCS library, evaluate all
LIBRARIES=$(sed -n 's/^ *libraries: *//p' "$CONFIG" | head -1)
for reference in logmel aisfx; do                      # RQ4: reference models under the same kNN protocol
  "$SFXREP" evaluate "$reference" --libraries-yaml "${LIBRARIES:-experiments/libraries/shared.yaml}" --results "$RESULTS"
done

"$SFXREP" compare "$RESULTS" --rq rq2 --absolute --where loss=ce --metrics frame_macro_f1 file_macro_f1
"$SFXREP" compare "$RESULTS" --rq rq3 --where loss=ce
"$SFXREP" compare "$RESULTS" --rq rq1 --where seed=0
"$SFXREP" report "$RESULTS" --out "${REPORT:-runs/study-report}"
