#!/usr/bin/env bash
# The README's variant comparison on real Omniglot 5-way 1-shot: every Table 1 model and Table 3
# noise for ITERS meta-iterations (default 2000) with the same seed and settings
# (presets/omniglot_5way_1shot_3k.cfg), then 1000 meta-test episodes with S = 30.
# META_GRADIENT (exact, authors_tf1, first_order; default exact) picks the meta-gradient; runs go
# to runs/omniglot_5way1shot_<ITERS>[_<META_GRADIENT>]/<variant>.
#   [META_GRADIENT=authors_tf1] [RUNS=runs] bash experiments/omniglot_5way_variants.sh [variant ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export ITERS=${ITERS:-2000} META_GRADIENT=${META_GRADIENT:-exact}
suffix=""
[ "$META_GRADIENT" = exact ] || suffix="_${META_GRADIENT}"
VARIANTS=("$@")  # by default the Tables 1 and 3 rows of metadropout_tf/variants.py
# shellcheck disable=SC2207  # the names are words
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=($(python -m metadropout_tf.variants --compared))
PRESET=presets/omniglot_5way_1shot_3k.cfg NAME="omniglot_5way1shot_${ITERS}${suffix}" \
  bash experiments/equal_budget.sh "${VARIANTS[@]}"
