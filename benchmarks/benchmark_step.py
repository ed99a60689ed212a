"""Trace time and seconds per meta-iteration of the meta-training step.

  python benchmarks/benchmark_step.py                    # the paper's settings below
  python benchmarks/benchmark_step.py --settings=5way    # one of them

Runs on real Omniglot and miniImageNet meta-train episodes; prints one line per setting.
"""
import os
import time

from absl import app
from absl import flags

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import episodes
from metadropout_tf import graph_options
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf import variants

SETTINGS = {
    # name: (dataset, way, shot, query, metabatch, inner_lr, variant of metadropout_tf/variants.py)
    "20way": ("omniglot", 20, 1, 15, 8, 0.1, "metadrop"),
    "20way_metasgd": ("omniglot", 20, 1, 15, 8, 0.1, "metasgd_metadrop"),
    "5way": ("omniglot", 5, 1, 15, 4, 0.1, "metadrop"),
    "mini_5way1shot": ("miniimagenet", 5, 1, 15, 4, 0.01, "metadrop"),
    "mini_5way5shot": ("miniimagenet", 5, 5, 15, 4, 0.01, "metadrop"),
}
flags.DEFINE_list("settings", list(SETTINGS), f"which of {list(SETTINGS)} to run")
flags.DEFINE_integer("iters", 5, "timed meta-iterations after the first (traced) one")
flags.DEFINE_string("datasets_dir", "../shared/datasets", "holds omniglot/ and miniimagenet/")
flags.DEFINE_string("tfds_data_dir", None, "tensorflow-datasets' data directory (default: its own)")
flags.DEFINE_boolean("deterministic", True, "bit-for-bit reproducible graphs (Grappler's "
                     "constant folding off, as in training)")
FLAGS = flags.FLAGS


def main(_):
  console.quiet_python_loggers()
  graph_options.set_deterministic(FLAGS.deterministic)
  for name in FLAGS.settings:
    dataset, way, shot, query, metabatch, inner_lr, variant = SETTINGS[name]
    benchmark = datasets.DATASETS[dataset]
    images, _ = datasets.load(dataset, os.path.join(FLAGS.datasets_dir, dataset), "train",
                              FLAGS.tfds_data_dir)
    noise, meta_sgd = variants.VARIANTS[variant].noise, variants.VARIANTS[variant].meta_sgd
    episode_config = config_lib.EpisodeConfig(way, shot, query, metabatch)
    model = network.Conv4(config_lib.ModelConfig(
        image_size=benchmark.image_size, image_channels=benchmark.image_channels,
        num_filters=benchmark.num_filters, num_ways=way, noise=noise))
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
    print(f"{name}: {dataset} way={way} shot={shot} query={query} metabatch={metabatch} noise={noise} "
          f"meta_sgd={meta_sgd}: first call (trace + run) {trace:.1f} s, {per_iter:.2f} s/iter")


if __name__ == "__main__":
  app.run(main)
