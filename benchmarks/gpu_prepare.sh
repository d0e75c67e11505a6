#!/usr/bin/env bash
# Prepare, here, what benchmarks/gpu.sh needs on a lent GPU machine that reaches no network (its image has CUDA torch,
# lightning, torchmetrics, scikit-learn, scipy, numpy): the rest of sfxrep's stack as wheels for CPython 3.12, and
# three small real libraries of ../shared/data, both in the git-ignored folder .gpu/ (under 64 MiB with the repo).
#   bash benchmarks/gpu_prepare.sh [SHARED=../shared/data]
# then, on the GPU machine, with .gpu carried:  bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared/data}"
PY="${PYTHON:-.venv/bin/python}"
rm -rf .gpu && mkdir -p .gpu/whl .gpu/data
# pinned to the versions this repo is tested with; --no-deps: each missing dependency is named (cffi, pycparser for
# soundfile; docstring-parser, typeshed-client for jsonargparse's signatures)
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .gpu/whl \
  pytorch-metric-learning==2.9.0 nnAudio==0.3.4 soundfile==0.14.0 soxr==1.1.0 cffi pycparser \
  jsonargparse==4.53.0 docstring-parser==0.18.0 typeshed-client==2.15.0
for lib in kenney_ui lmms_samples retro512_junkala; do cp -r "$SHARED/$lib" .gpu/data/; done
du -sh .gpu/whl .gpu/data
echo "carry .gpu; run: bash benchmarks/gpu.sh"
