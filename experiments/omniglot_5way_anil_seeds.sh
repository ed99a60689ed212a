#!/usr/bin/env bash
# ANIL against MAML, each with and without meta-dropout, at the equal budget (Omniglot 5-way
# 1-shot, 2000 iterations, exact meta-gradient, seeds 0-2, 1000 test episodes with S = 30). MAML
# and meta-dropout are the models of omniglot_5way_seeds.sh (the same folder: trained once).
# Rerun to continue after a stop; extra flags (e.g. --seeds=0) go to experiments/seeds.py.
set -euo pipefail
cd "$(dirname "$0")/.."
python experiments/seeds.py --preset=presets/omniglot_5way_1shot_3k.cfg \
  --name=omniglot_5way1shot_2000_seeds --summary_name=anil --seeds=0,1,2 --n_train_iters=2000 \
  --eval_freq=250 --variants=maml,metadrop,anil,anil_metadrop "$@"
