#!/usr/bin/env bash
# On a machine with one CUDA GPU, in one call of at most 10 minutes:
#   1. the engine's torch backend on the device against the reference (dipnb.engine.selfcheck);
#   2. the engine benchmark on the device (benchmarks/sweep_engine.py);
#   3. the paper preset of every figure, as far as the time allows, in resumable cells.
# Results go to $OUT/results when OUT is set (the device tool brings $OUT back), else results/,
# where a result that exists is kept and its run refused unless OVERWRITE=1 is set.
# Needs only torch, numba, numpy, matplotlib and tqdm: dipnb is found through PYTHONPATH=. (image-draws,
# the image claims over four photographs, also needs pillow and scikit-image, whose sample data it reads).
#
#   bash scripts/paper-on-gpu.sh                                   # on the GPU machine
#   DEVICE=cpu PRESET=quick BUDGET=300 OUT=/tmp/dry bash scripts/paper-on-gpu.sh   # a dry run here
#
# Each run is stopped with SIGINT when the budget is spent: it says how many cells it saved,
# and the same command resumes from them (carry $OUT/results/.partial back to resume elsewhere).
set -u
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
PRESET=${PRESET:-paper}
BUDGET=${BUDGET:-540}                   # seconds for the whole script: a 10-minute call, with margin
if [ -x .venv/bin/python ]; then PY=${PYTHON:-.venv/bin/python}; else PY=${PYTHON:-python3}; fi   # make venv's
BENCH_ARGS=${BENCH_ARGS:-}
RESULTS=${OUT:+$OUT/results}
RESULTS=${RESULTS:-results}
mkdir -p "$RESULTS"
export DIPNB_RESULTS=$RESULTS PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} DIPNB_PROGRESS=0
start=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - start) )); }
log() { echo "[paper-on-gpu +$(( $(date +%s) - start ))s] $*"; }
status=0

log "device $DEVICE, preset $PRESET, budget ${BUDGET}s, results in $RESULTS"
$PY - <<'PY' || { log "missing a package: torch, numba, numpy, matplotlib and tqdm are needed"; exit 2; }
import matplotlib, numba, numpy, torch, tqdm
print("torch", torch.__version__, "numba", numba.__version__, "numpy", numpy.__version__,
      "cuda:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
PY

log "1. the engine on $DEVICE against the reference"
timeout --signal=INT "$(left)" $PY -m dipnb.engine.selfcheck --device "$DEVICE" \
    --json "$RESULTS/engine-selfcheck-$DEVICE.json" | tail -2 || status=1

log "2. the engine benchmark on $DEVICE"
# shellcheck disable=SC2086
timeout --signal=INT "$(( $(left) / 4 ))" $PY benchmarks/sweep_engine.py --device "$DEVICE" $BENCH_ARGS \
    --json "$RESULTS/benchmark-$DEVICE.json" | tail -12 || log "benchmark stopped or failed (rc $?)"

log "3. the paper presets, the runs a CPU cannot do first"
for exp in fig2 fig1 gamma-threshold fig3a fig3b-fig4 image-draws; do
    p=$PRESET
    if [ "$PRESET" = paper ] && [ "${exp#fig3}" != "$exp" ]; then p=paper-long; fi   # images: faithful step
    t=$(left)
    if [ "$t" -lt 20 ]; then log "$exp: not started (no time left)"; continue; fi
    log "$exp --preset $p (up to ${t}s)"
    timeout --signal=INT --kill-after=20 "$t" $PY -m dipnb run "$exp" --preset "$p" --device "$DEVICE" \
        --no-progress ${OVERWRITE:+--overwrite}
    rc=$?
    case $rc in
        0) log "$exp: done" ;;
        124|130) log "$exp: stopped by the budget; its finished cells are in $RESULTS/.partial" ;;
        *) log "$exp: failed (rc $rc)"; status=1 ;;
    esac
done
log "files:"
ls -la "$RESULTS" | sed 's/^/    /'
exit $status
