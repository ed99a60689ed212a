#!/usr/bin/env bash
# Trains paper variants from one base preset for the same budget and seed, then meta-tests each on
# the same fixed episodes with S = 30. Held-out accuracy on 100 fixed episodes every EVAL_FREQ
# iterations gives the learning curve (experiments/plot_learning_curves.py); EVAL_FREQ=0 skips it
# (the training is the same either way: the step, not the history, seeds each iteration).
#   PRESET=presets/<setting>.cfg NAME=<folder> [ITERS=2000] [TEST_EPISODES=1000] [SAVE_FREQ=500] \
#   [EVAL_FREQ=250] [META_GRADIENT=exact] [RUNS=runs] bash experiments/equal_budget.sh VARIANT[:GRADIENT] ...
# VARIANT is a name of metadropout_tf/variants.py; VARIANT:GRADIENT picks its meta-gradient and
# names the run VARIANT_GRADIENT. Runs go to RUNS/NAME/<run>. Rerun to continue: training
# resumes from its checkpoints, finished evaluations are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PRESET:?set PRESET, the base preset}" "${NAME:?set NAME, the runs folder under RUNS}"
ITERS=${ITERS:-2000}
TEST_EPISODES=${TEST_EPISODES:-1000}
SAVE_FREQ=${SAVE_FREQ:-500}
EVAL_FREQ=${EVAL_FREQ:-250}
META_GRADIENT=${META_GRADIENT:-exact}
RUNS=${RUNS:-runs}
for run in "$@"; do
  variant=${run%%:*}
  meta_gradient=$META_GRADIENT
  label=$variant
  if [[ $run == *:* ]]; then
    meta_gradient=${run#*:}
    label="${variant}_${meta_gradient}"
  fi
  flags=$(python -m metadropout_tf.variants --flags "$variant")
  savedir="${RUNS}/${NAME}/${label}"
  # shellcheck disable=SC2086  # the flags are words
  python train.py --flagfile="$PRESET" --n_train_iters="$ITERS" --meta_gradient="$meta_gradient" \
    --save_freq="$SAVE_FREQ" --eval_freq="$EVAL_FREQ" --n_eval_episodes=100 --savedir="$savedir" $flags
  python evaluate.py --savedir="$savedir" --n_test_iters="$TEST_EPISODES" --keep_finished
done
