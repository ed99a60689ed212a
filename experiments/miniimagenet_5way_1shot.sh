#!/usr/bin/env bash
# MAML vs meta-dropout on real miniImageNet 5-way 1-shot (presets/miniimagenet_5way_1shot.cfg:
# metabatch 4, alpha 0.01, meta-lr 1e-4, 5 steps, 15 queries) for the same ITERS meta-iterations
# (default 2000) and seed, with the meta-gradient the authors' code trained Table 1 with
# (authors_tf1; pass VARIANT:exact for the other), then the same 1000 meta-test episodes with
# S = 30. About 3.3 s per iteration on two CPU cores; checkpoints every 250 iterations.
#   [ITERS=2000] [RUNS=runs] bash experiments/miniimagenet_5way_1shot.sh [VARIANT:GRADIENT ...]
# Runs go to RUNS/miniimagenet_5way1shot_ITERS/VARIANT_GRADIENT.
set -euo pipefail
cd "$(dirname "$0")/.."
export ITERS=${ITERS:-2000}
RUNS_TO_DO=("$@")
[ ${#RUNS_TO_DO[@]} -gt 0 ] || RUNS_TO_DO=(maml:authors_tf1 metadrop:authors_tf1)
PRESET=presets/miniimagenet_5way_1shot.cfg NAME="miniimagenet_5way1shot_${ITERS}" SAVE_FREQ=250 \
  bash experiments/equal_budget.sh "${RUNS_TO_DO[@]}"
