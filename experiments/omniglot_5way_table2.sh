#!/usr/bin/env bash
# The paper's Table 2 at the README's equal budget: MAML, meta-dropout (Add. and Mult.) and the
# perturbation baselines in MAML's inner loop (mixup, VIB, information dropout, each with the
# paper's three hyperparameters) on real Omniglot 5-way 1-shot (presets/omniglot_5way_1shot_3k.cfg),
# ITERS meta-iterations each (default 2000) with the same seed, then the same 1000 meta-test
# episodes with S = 30. Runs go to RUNS/omniglot_5way1shot_ITERS_table2/<variant>.
#   [ITERS=2000] [META_GRADIENT=exact] [EVAL_FREQ=250] [SAVE_FREQ=500] [RUNS=runs] \
#   bash experiments/omniglot_5way_table2.sh [variant ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export ITERS=${ITERS:-2000}
VARIANTS=("$@")  # by default every Table 2 row of metadropout_tf/variants.py
# shellcheck disable=SC2207  # the names are words
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=($(python -m metadropout_tf.variants --table2))
PRESET=presets/omniglot_5way_1shot_3k.cfg NAME="omniglot_5way1shot_${ITERS}_table2" \
  bash experiments/equal_budget.sh "${VARIANTS[@]}"
