"""Trace time and seconds per meta-iteration of the meta-training step.

  python benchmarks/benchmark_step.py                    # the paper's settings below
  python benchmarks/benchmark_step.py --settings=5way    # one of them

Runs on real Omniglot episodes; prints one line per setting.
"""
import time

from absl import app
from absl import flags

import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
from metadropout_tf import config as config_lib
from metadropout_tf import episodes
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf import variants
from metadropout_tf.datasets import omniglot

SETTINGS = {
    # name: (way, shot, query, metabatch, inner_lr, variant of metadropout_tf/variants.py)
    "20way": (20, 1, 15, 8, 0.1, "metadrop"),
    "20way_metasgd": (20, 1, 15, 8, 0.1, "metasgd_metadrop"),
    "5way": (5, 1, 15, 4, 0.1, "metadrop"),
}
flags.DEFINE_list("settings", list(SETTINGS), f"which of {list(SETTINGS)} to run")
flags.DEFINE_integer("iters", 5, "timed meta-iterations after the first (traced) one")
flags.DEFINE_string("data_dir", "../shared/datasets/omniglot", "Omniglot files")
flags.DEFINE_string("cache_dir", ".cache", "where processed arrays are cached")
FLAGS = flags.FLAGS


def main(_):
  images, _ = omniglot.load(FLAGS.data_dir, "trainval", FLAGS.cache_dir)
  for name in FLAGS.settings:
    way, shot, query, metabatch, inner_lr, variant = SETTINGS[name]
    noise, meta_sgd = variants.VARIANTS[variant].noise, variants.VARIANTS[variant].meta_sgd
    episode_config = config_lib.EpisodeConfig(way, shot, query, metabatch)
    model = network.Conv4(config_lib.ModelConfig(num_ways=way, noise=noise))
    meta_config = config_lib.MetaConfig(inner_lr=inner_lr, meta_sgd=meta_sgd)
    learner = meta_learner.MetaLearner(model, meta_config, episode_config)
    batches = iter(episodes.episode_dataset(images, episode_config, seed=0))
    step, batch = next(batches)
    start = time.perf_counter()
    learner.train_step(batch, int(step))
    trace = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(FLAGS.iters):
      step, batch = next(batches)
      learner.train_step(batch, int(step))
    per_iter = (time.perf_counter() - start) / FLAGS.iters
    print(f"{name}: way={way} shot={shot} query={query} metabatch={metabatch} noise={noise} "
          f"meta_sgd={meta_sgd}: first call (trace + run) {trace:.1f} s, {per_iter:.2f} s/iter")


if __name__ == "__main__":
  app.run(main)
