#!/usr/bin/env bash
# sfxrep's GPU check, one script, under 8 minutes on one GPU (README "Speed" has its figures). On a machine that
# reaches no network, prepare first, where pip works:  bash benchmarks/gpu_prepare.sh  (wheels + data into .gpu/),
# then carry .gpu and run:  bash benchmarks/gpu.sh   (results: $OUT or runs/gpu; the last line is one JSON object)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .gpu/whl ]; then  # the stack the machine's image lacks, installed beside it (never over it)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/sfxrep-site \
    .gpu/whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/sfxrep-site"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -m benchmarks.gpu --out "${OUT:-runs/gpu}" "$@"
