#!/usr/bin/env bash
# The paper's comparisons (RQ1-RQ3) on one set of libraries with one fixed budget, then their tables.
#   CONFIG   budget + libraries (default experiments/shared.yaml: the three ../shared/data libraries)
#   RESULTS  results file (default runs/study.jsonl); re-running appends, `compare` uses the latest rows
#   ARGS     extra LightningCLI arguments for every run (e.g. "--trainer.enable_progress_bar false")
set -euo pipefail
CONFIG=${CONFIG:-experiments/shared.yaml}
RESULTS=${RESULTS:-runs/study.jsonl}
SFXREP=${SFXREP:-.venv/bin/sfxrep}
ARGS=${ARGS:-}
train() { "$SFXREP" train --config "$CONFIG" --results "$RESULTS" "$@" ${ARGS:+-- $ARGS}; }

for loss in ce contrastive triplet circle; do          # RQ1 (and RQ2 for CE): within vs cross, per loss
  train --scenario within --loss "$loss"
  train --scenario cross --loss "$loss"
done
train --scenario cross --mixing joint                  # RQ3: X-Joint, FDR, per-library BatchNorm
train --scenario cross --fdr on
train --scenario cross --bn per_library
train --scenario ucs_transfer                          # RQ2: train on the UCS library, evaluate all

"$SFXREP" compare "$RESULTS" --rq rq2 --absolute --metrics frame_macro_f1 file_macro_f1
"$SFXREP" compare "$RESULTS" --rq rq1
"$SFXREP" compare "$RESULTS" --rq rq2
"$SFXREP" compare "$RESULTS" --rq rq3
