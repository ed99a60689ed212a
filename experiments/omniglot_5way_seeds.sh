#!/usr/bin/env bash
# Omniglot 5-way 1-shot at the equal budget, three seeds: MAML and meta-dropout under the exact
# and the authors' (authors_tf1) meta-gradient, 2000 iterations each, held-out points every 250,
# then 1000 test episodes with S = 30 for every model. Rerun to continue after a stop.
set -euo pipefail
cd "$(dirname "$0")/.."
python experiments/seeds.py --preset=presets/omniglot_5way_1shot_3k.cfg \
  --name=omniglot_5way1shot_2000_seeds --seeds=0,1,2 --n_train_iters=2000 --eval_freq=250 \
  --variants=maml,metadrop,maml:authors_tf1,metadrop:authors_tf1 "$@"
