#!/usr/bin/env bash
# MAML and meta-dropout under both meta-gradients in the paper's own setting: Omniglot 20-way
# 1-shot (presets/omniglot_20way_1shot.cfg: metabatch 8, alpha 0.1, meta-lr 1e-3) for ITERS
# meta-iterations (default 1000), held-out accuracy on 100 fixed episodes every 250 iterations,
# then the same 300 fixed 20-way meta-test episodes with S = 30 for every run (1000 would take
# hours per model on two CPU cores). About 2 h of training per run there.
# Rerun to continue: training resumes from its checkpoints (every 250 iterations), finished
# evaluations are kept.
#   [ITERS=1000] [RUNS=runs] bash experiments/omniglot_20way_meta_gradient.sh [VARIANT:GRADIENT ...]
# e.g. maml:authors_tf1 (default: maml and metadrop, each with authors_tf1 and exact); a run goes
# to RUNS/omniglot_20way1shot_ITERS/VARIANT_GRADIENT.
set -euo pipefail
cd "$(dirname "$0")/.."
ITERS=${ITERS:-1000}
RUNS=${RUNS:-runs}
RUNS_TO_DO=("$@")
[ ${#RUNS_TO_DO[@]} -gt 0 ] || RUNS_TO_DO=(maml:authors_tf1 metadrop:authors_tf1 maml:exact metadrop:exact)
for run in "${RUNS_TO_DO[@]}"; do
  variant=${run%%:*}
  meta_gradient=${run#*:}
  flags=$(python -m metadropout_tf.variants --flags "$variant")
  savedir="${RUNS}/omniglot_20way1shot_${ITERS}/${variant}_${meta_gradient}"
  # shellcheck disable=SC2086  # the flags are words
  python train.py --flagfile=presets/omniglot_20way_1shot.cfg --n_train_iters="$ITERS" \
    --meta_gradient="$meta_gradient" --save_freq=250 --eval_freq=250 --n_eval_episodes=100 \
    --savedir="$savedir" $flags
  [ -f "$savedir/meta_test_test.json" ] || python evaluate.py --savedir="$savedir" --n_test_iters=300
done
