#!/usr/bin/env bash
# The README's variant comparison on real Omniglot 5-way 1-shot: every Table 1 model and Table 3
# noise for the same number of meta-iterations (ITERS, default 2000) with the same seed and
# settings (presets/omniglot_5way_1shot_3k.cfg), then 1000 meta-test episodes with S = 30.
# META_GRADIENT (exact, authors_tf1, first_order; default exact) picks the meta-gradient; runs go
# to runs/omniglot_5way1shot_<ITERS>[_<META_GRADIENT>]/<variant>, with held-out accuracy on 100
# fixed episodes every 250 iterations for the learning curve (experiments/plot_learning_curves.py).
# Rerun to continue: training resumes from its checkpoints, finished evaluations are kept.
#   [META_GRADIENT=authors_tf1] [RUNS=runs] bash experiments/omniglot_5way_variants.sh [variant ...]
set -euo pipefail
cd "$(dirname "$0")/.."
ITERS=${ITERS:-2000}
META_GRADIENT=${META_GRADIENT:-exact}
RUNS=${RUNS:-runs}
# Variant names and flags come from metadropout_tf/variants.py; by default the Tables 1 and 3 rows.
VARIANTS=("$@")
# shellcheck disable=SC2207  # the names are words
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=($(python -m metadropout_tf.variants --compared))
suffix=""
[ "$META_GRADIENT" = exact ] || suffix="_${META_GRADIENT}"
for variant in "${VARIANTS[@]}"; do
  flags=$(python -m metadropout_tf.variants --flags "$variant")
  savedir="${RUNS}/omniglot_5way1shot_${ITERS}${suffix}/${variant}"
  # shellcheck disable=SC2086  # the flags are words
  python train.py --flagfile=presets/omniglot_5way_1shot_3k.cfg --n_train_iters="$ITERS" \
    --meta_gradient="$META_GRADIENT" --eval_freq=250 --n_eval_episodes=100 \
    --savedir="$savedir" $flags
  [ -f "$savedir/meta_test_test.json" ] || python evaluate.py --savedir="$savedir"
done
