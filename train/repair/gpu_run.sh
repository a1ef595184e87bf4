#!/usr/bin/env bash
# Train the repair model's next version (train/repair/configs.py: NEXT) on a lent GPU machine, in one
# call: install the carried wheels, decode the packed corpus, train for MINUTES, leave the checkpoints
# and the log under $OUT. Run from the checkout's root there, with .whl and .devdata/corpus.tar.gz carried:
#
#   here:  python -m train.repair.pack pack --corpus cache/corpus --out .devdata/corpus
#          tar -cf - -C .devdata corpus | gzip -1 > .devdata/corpus.tar.gz
#          pip download (soundfile cffi pycparser soxr pyroomacoustics, cp312) -d .whl   (device README)
#   there: MINUTES=8 bash train/repair/gpu_run.sh
#
# That machine has PyTorch, numpy and scipy but no package mirror; msar's folders are put under one
# `msar` namespace by links, as pyproject.toml maps them, instead of an install.
set -euo pipefail
MINUTES=${MINUTES:-8}
WORKERS=${WORKERS:-$(( $(nproc) - 2 ))}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}     # a try-out here: PYTHON=.venv/bin/python DEVICE=cpu NO_WHEELS=1
: "${OUT:?OUT must name the folder the results go to}"
t0=$(date +%s)

[ -n "${NO_WHEELS:-}" ] || "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
mkdir -p /tmp/ns/msar
ln -sfn "$PWD/dsp" /tmp/ns/msar/dsp
ln -sfn "$PWD/msar_cli" /tmp/ns/msar/cli
ln -sfn "$PWD/onnx_models" /tmp/ns/msar/onnx_models
export PYTHONPATH=/tmp/site:/tmp/ns:$PWD PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
nvidia-smi -L || true
echo "cores: $(nproc), workers: $WORKERS"

rm -rf /tmp/packed /tmp/corpus && mkdir -p /tmp/packed && tar -xzf .devdata/corpus.tar.gz -C /tmp/packed
"$PYTHON" -m train.repair.pack unpack --packed /tmp/packed/corpus --out /tmp/corpus --jobs "$(nproc)"
echo "set-up took $(( $(date +%s) - t0 )) s"

mkdir -p "$OUT/ck"
"$PYTHON" -m train.repair.train --variant multispeaker-repair --next --corpus /tmp/corpus --out "$OUT/ck" \
    --device "$DEVICE" --workers "$WORKERS" --threads 2 --max-minutes "$MINUTES" --valid-every 1000 \
    --log-every 100 --ckpt-minutes 2 2>&1 | tee "$OUT/train.log"
nvidia-smi --query-gpu=name,memory.used --format=csv || true
echo "whole run took $(( $(date +%s) - t0 )) s"
