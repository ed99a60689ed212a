#!/usr/bin/env bash
# MAML and meta-dropout under both meta-gradients in the paper's own setting: Omniglot 20-way
# 1-shot (presets/omniglot_20way_1shot.cfg: metabatch 8, alpha 0.1, meta-lr 1e-3) for ITERS
# meta-iterations (default 1000), then the same 300 fixed 20-way meta-test episodes with S = 30
# for every run (1000 would take hours per model on two CPU cores). About 2 h of training per run
# there; checkpoints every 250 iterations.
#   [ITERS=1000] [RUNS=runs] bash experiments/omniglot_20way_meta_gradient.sh [VARIANT:GRADIENT ...]
# Default: maml and metadrop, each with authors_tf1 and exact; runs go to
# RUNS/omniglot_20way1shot_ITERS/VARIANT_GRADIENT.
set -euo pipefail
cd "$(dirname "$0")/.."
export ITERS=${ITERS:-1000}
RUNS_TO_DO=("$@")
[ ${#RUNS_TO_DO[@]} -gt 0 ] || RUNS_TO_DO=(maml:authors_tf1 metadrop:authors_tf1 maml:exact metadrop:exact)
PRESET=presets/omniglot_20way_1shot.cfg NAME="omniglot_20way1shot_${ITERS}" TEST_EPISODES=300 \
  SAVE_FREQ=250 bash experiments/equal_budget.sh "${RUNS_TO_DO[@]}"
