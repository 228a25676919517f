#!/usr/bin/env bash
# One device call: resume a committed run on the GPU for a fixed wall time, then bring back
# its checkpoint, logs, validation metrics and exported weights under $OUT.
#
# The device machine has torch, numpy, networkx, safetensors and tqdm but no skcfm install
# and no network: the script runs skcfm from the working tree (PYTHONPATH), and training
# needs nothing else. From the repository root, as the device tool's command:
#
#   RUN=small-armdrop CONFIG=small-armdrop MINUTES=7 BATCH=64 TOTAL_STEPS=36000 bash checkpoints/gpu_session.sh
#
# RUN       a folder of checkpoints/ to resume (copied to runs/RUN first)
# CONFIG    the named config (python -m skcfm.training train --help)
# MINUTES   training wall time; leave about 3 minutes of the call for start-up and export
# BATCH     data sets per step (the CPU runs used 16 per process; the learning rate is not rescaled)
# TOTAL_STEPS, UPDATE_PRIOR=1   passed on as --total-steps and --update-prior when set
# DEVICE    cuda (default) or cpu, to try the script here first
#
# Afterwards, here: copy $OUT's last.pt, train_log.csv and validation_log.csv into
# checkpoints/RUN (or a new folder), commit them, and judge the exported weights by the
# shipping rule in docs/pretraining.md before replacing skcfm/weights/cfm-small.*.
set -euo pipefail
RUN=${RUN:-small-armdrop}
CONFIG=${CONFIG:-small-armdrop}
MINUTES=${MINUTES:-7}
BATCH=${BATCH:-64}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-/tmp/gpu_session_out}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

extra=()
if [[ -n "${TOTAL_STEPS:-}" ]]; then extra+=(--total-steps "$TOTAL_STEPS"); fi
if [[ -n "${UPDATE_PRIOR:-}" ]]; then extra+=(--update-prior); fi

mkdir -p runs "$OUT"
rm -rf "runs/$RUN"
cp -r "checkpoints/$RUN" "runs/$RUN"
# the device tool brings back at most 8 files: one log, the checkpoint, two CSV logs, weights and card
log="$OUT/session.txt"
if [[ "$DEVICE" == cuda ]]; then hardware=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); else
    hardware=$(uname -m); fi
echo "hardware: $hardware" | tee "$log"

python3 -m skcfm.training train --config "$CONFIG" --out "runs/$RUN" --resume --device "$DEVICE" \
    --batch-size "$BATCH" --max-minutes "$MINUTES" --no-progress "${extra[@]}" 2>&1 | tee -a "$log"
cp "runs/$RUN/last.pt" "runs/$RUN/train_log.csv" "runs/$RUN/validation_log.csv" "$OUT/"
python3 -m skcfm.training eval "runs/$RUN/last.pt" --device "$DEVICE" 2>&1 | tee -a "$log"
python3 -m skcfm.training export "runs/$RUN/last.pt" --name "$RUN-$DEVICE" --out-dir "$OUT" \
    --hardware "$hardware, $MINUTES min" 2>&1 | tee -a "$log"
