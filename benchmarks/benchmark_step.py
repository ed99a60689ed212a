"""Trace time and seconds per meta-iteration of the meta-training step, or per meta-test episode.

  python benchmarks/benchmark_step.py                      # the paper's settings below
  python benchmarks/benchmark_step.py --settings=5way      # one of them
  python benchmarks/benchmark_step.py --settings=5way --meta_test   # evaluate.py's episodes

Runs on real Omniglot and miniImageNet episodes; prints one line per setting (one JSON line with
--json, as `compare_with_pytorch.py` reads it). The meta-test times the exported SavedModel's
`adapt_and_predict_seeded` with S = 30, the function evaluate.py calls per episode.
"""
import json
import os
import sys
import tempfile

from absl import app
from absl import flags

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import episodes
from metadropout_tf import evaluation
from metadropout_tf import export
from metadropout_tf import graph_options
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf import variants

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import time_calls  # pylint: disable=wrong-import-position

SETTINGS = {
    # name: (dataset, way, shot, query, metabatch, inner_lr, variant of metadropout_tf/variants.py)
    "20way": ("omniglot", 20, 1, 15, 8, 0.1, "metadrop"),
    "20way_metasgd": ("omniglot", 20, 1, 15, 8, 0.1, "metasgd_metadrop"),
    "5way": ("omniglot", 5, 1, 15, 4, 0.1, "metadrop"),
    "mini_5way1shot": ("miniimagenet", 5, 1, 15, 4, 0.01, "metadrop"),
    "mini_5way5shot": ("miniimagenet", 5, 5, 15, 4, 0.01, "metadrop"),
}
flags.DEFINE_list("settings", list(SETTINGS), f"which of {list(SETTINGS)} to run")
flags.DEFINE_integer("iters", 5, "timed calls after the first (traced) one")
flags.DEFINE_boolean("meta_test", False, "time meta-test episodes (S = 30) instead of training")
flags.DEFINE_enum("meta_gradient", "exact", list(config_lib.META_GRADIENTS), "of the training step")
flags.DEFINE_boolean("json", False, "one JSON line per setting: first_call and per_iter seconds")
flags.DEFINE_string("datasets_dir", "../shared/datasets", "holds omniglot/ and miniimagenet/")
flags.DEFINE_string("tfds_data_dir", None, "tensorflow-datasets' data directory (default: its own)")
flags.DEFINE_boolean("deterministic", True, "bit-for-bit reproducible graphs (Grappler's "
                     "rewrites off, as in training)")
FLAGS = flags.FLAGS


def training_steps(images, model, meta_config, episode_config):
  """A function running the next meta-training step."""
  learner = meta_learner.MetaLearner(model, meta_config, episode_config)
  batches = iter(episodes.episode_dataset(images, episode_config, seed=0))

  def step():
    index, batch = next(batches)
    learner.train_step(batch, int(index))
  return step


def meta_test_episodes(images, model, meta_config, episode_config):
  """A function meta-testing the next episode through the SavedModel, as evaluate.py does."""
  learner = meta_learner.MetaLearner(model, meta_config, episode_config)
  path = os.path.join(tempfile.mkdtemp(prefix="benchmark-"), "saved_model")
  export.save(learner.algorithm, learner.params, {}, path)
  loaded = tf.saved_model.load(path)
  tasks = evaluation.fixed_episodes(images, one_task(episode_config), 10**6, 0)
  num_samples = tf.constant(meta_config.num_test_mc_samples, tf.int32)

  def episode():
    task, seed = next(tasks)
    loaded.adapt_and_predict_seeded(task.support_images, task.support_labels, task.query_images,
                                    seed, num_samples).numpy()
  return episode


def one_task(episode_config):
  """The same tasks one at a time, as evaluate.py draws them."""
  return config_lib.EpisodeConfig(episode_config.num_ways, episode_config.num_shots,
                                  episode_config.num_queries, 1)


def main(_):
  console.quiet_python_loggers()
  graph_options.set_deterministic(FLAGS.deterministic)
  for name in FLAGS.settings:
    dataset, way, shot, query, metabatch, inner_lr, variant = SETTINGS[name]
    benchmark = datasets.DATASETS[dataset]
    split = "test" if FLAGS.meta_test else "train"
    images, _ = datasets.load(dataset, os.path.join(FLAGS.datasets_dir, dataset), split,
                              FLAGS.tfds_data_dir)
    noise, algorithm = variants.VARIANTS[variant].noise, variants.VARIANTS[variant].algorithm
    episode_config = config_lib.EpisodeConfig(way, shot, query, metabatch)
    model = network.Conv4(config_lib.ModelConfig(
        image_size=benchmark.image_size, image_channels=benchmark.image_channels,
        num_filters=benchmark.num_filters, num_ways=way, noise=noise))
    meta_config = config_lib.MetaConfig(inner_lr=inner_lr, algorithm=algorithm,
                                        meta_gradient=FLAGS.meta_gradient)
    make = meta_test_episodes if FLAGS.meta_test else training_steps
    first, per_iter = time_calls(make(images, model, meta_config, episode_config), FLAGS.iters)
    if FLAGS.json:
      print(json.dumps(dict(setting=name, first_call=first, per_iter=per_iter)), flush=True)
      continue
    what = "s/episode (S = 30)" if FLAGS.meta_test else "s/iter"
    print(f"{name}: {dataset} way={way} shot={shot} query={query} metabatch={metabatch} "
          f"noise={noise} algorithm={algorithm}: first call (trace + run) {first:.1f} s, "
          f"{sum(per_iter) / len(per_iter):.2f} {what}", flush=True)


if __name__ == "__main__":
  app.run(main)
