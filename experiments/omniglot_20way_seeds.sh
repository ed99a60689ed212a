#!/usr/bin/env bash
# Omniglot 20-way 1-shot, exact meta-gradient, three seeds: MAML and meta-dropout, 2000
# iterations each, held-out points every 250, then 1000 test episodes with S = 30.
# Rerun to continue after a stop.
set -euo pipefail
cd "$(dirname "$0")/.."
python experiments/seeds.py --preset=presets/omniglot_20way_1shot.cfg \
  --name=omniglot_20way1shot_2000_seeds --seeds=0,1,2 --n_train_iters=2000 --eval_freq=250 \
  --variants=maml,metadrop "$@"
