#!/usr/bin/env bash
# Train a repair config (default: the shipped variant's) on a lent GPU machine, in one call: install the carried wheels, decode the
# packed corpus, train for MINUTES, leave <OUT>/<variant>/{last.pt,best.pt,log.jsonl} and the log.
# Run from the checkout's root there, with .whl and .devdata/corpus.tar.gz carried:
#
#   here:  python -m train.repair.pack pack --corpus cache/corpus --out .devdata/corpus
#          tar -cf - -C .devdata corpus | gzip -1 > .devdata/corpus.tar.gz
#          pip download (soundfile cffi pycparser soxr pyroomacoustics, cp312) -d .whl   (device README)
#   there: MINUTES=8 bash train/repair/gpu_run.sh
#          two configs side by side, sharing the cores:
#          SETUP_ONLY=1 bash train/repair/gpu_run.sh && { WORKERS=7 TRAIN_ARGS="--variant A" bash train/repair/gpu_run.sh &
#              WORKERS=7 TRAIN_ARGS="--variant B" LOG=b.log bash train/repair/gpu_run.sh; wait; }
#
# That machine has PyTorch, numpy and scipy but no package mirror; msar's folders are put under one
# `msar` namespace by links, as pyproject.toml maps them, instead of an install. The checkpoints
# come back without the optimizer's moments (files back from the machine are limited to 16 MiB each).
set -euo pipefail
MINUTES=${MINUTES:-8}
CORES=$(nproc)   # before OMP_NUM_THREADS=1 below, which nproc obeys
WORKERS=${WORKERS:-$(( CORES - 2 ))}
DEVICE=${DEVICE:-cuda}
TRAIN_ARGS=${TRAIN_ARGS:---variant multispeaker-repair}
LOG=${LOG:-train.log}
PYTHON=${PYTHON:-python3}     # a try-out here: PYTHON=.venv/bin/python DEVICE=cpu NO_WHEELS=1
: "${OUT:?OUT must name the folder the results go to}"
t0=$(date +%s)
export PYTHONPATH=/tmp/site:/tmp/ns:$PWD PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

if [ ! -e /tmp/corpus/.unpacked ]; then
    [ -n "${NO_WHEELS:-}" ] || "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    mkdir -p /tmp/ns/msar
    ln -sfn "$PWD/dsp" /tmp/ns/msar/dsp
    ln -sfn "$PWD/msar_cli" /tmp/ns/msar/cli
    ln -sfn "$PWD/onnx_models" /tmp/ns/msar/onnx_models
    nvidia-smi -L || true
    rm -rf /tmp/packed /tmp/corpus && mkdir -p /tmp/packed && tar -xzf .devdata/corpus.tar.gz -C /tmp/packed
    "$PYTHON" -m train.repair.pack unpack --packed /tmp/packed/corpus --out /tmp/corpus --jobs "$CORES"
    touch /tmp/corpus/.unpacked
    echo "set-up took $(( $(date +%s) - t0 )) s"
fi
[ -z "${SETUP_ONLY:-}" ] || exit 0

echo "cores: $CORES, workers: $WORKERS, $TRAIN_ARGS"
mkdir -p "$OUT"
# shellcheck disable=SC2086  # TRAIN_ARGS is a list of arguments
"$PYTHON" -m train.repair.train $TRAIN_ARGS --corpus /tmp/corpus --out "$OUT" \
    --device "$DEVICE" --workers "$WORKERS" --threads 2 --max-minutes "$MINUTES" --valid-every 1000 \
    --log-every 100 --ckpt-minutes "${CKPT_MINUTES:-2}" 2>&1 | tee "$OUT/$LOG"
# shellcheck disable=SC2086
"$PYTHON" - "$OUT" $TRAIN_ARGS <<'PY'
import os, pathlib, sys, torch
from train.repair import configs
out, args = pathlib.Path(sys.argv[1]), sys.argv[2:]
name = args[args.index("--variant") + 1]
cfg = configs.get_next(name) if "--next" in args else configs.get(name)
for p in (out / cfg.name).glob("*.pt"):  # this run's only: a run beside it may still be writing its own
    ck = torch.load(p, map_location="cpu", weights_only=False)
    ck.pop("optimizer", None)
    torch.save(ck, p.with_suffix(".tmp"))
    os.replace(p.with_suffix(".tmp"), p)
PY
nvidia-smi --query-gpu=name,memory.used --format=csv || true
echo "whole run took $(( $(date +%s) - t0 )) s"
