"""Meta-tests a training run's SavedModel (Algorithm 2) on held-out classes.

  python evaluate.py --savedir=runs/omni20w1s

Loads --savedir/saved_model with plain TensorFlow (not the Python model class),
draws --n_test_iters seeded episodes of the run's way/shot/query from the
meta-test classes, adapts with S = --n_test_mc_samp noise samples, prints
`accuracy: XX.XX +- Y.YY` (95% interval 1.96 * std / sqrt(n)) and writes JSON.
"""
import json
import os
import sys
import time

from absl import app
from absl import flags

import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import evaluation

flags.DEFINE_string("savedir", None, "a training run's directory (holds saved_model/)")
flags.DEFINE_string("data_dir", None, "the benchmark's official files (default ../shared/datasets/<dataset>)")
flags.DEFINE_string("cache_dir", ".cache", "where processed arrays are cached")
flags.DEFINE_string("split", "test", "meta-test classes (Omniglot: test, or val)")
flags.DEFINE_integer("n_test_iters", 1000, "meta-test episodes")
flags.DEFINE_integer("n_test_mc_samp", 30, "noise samples S of the inner loss")
flags.DEFINE_integer("shot", None, "support examples per class (default: the run's)")
flags.DEFINE_integer("query", None, "query examples per class (default: the run's)")
flags.DEFINE_integer("seed", 0, "fixes the set of episodes and the noise")
flags.DEFINE_string("output", None, "JSON results file (default SAVEDIR/meta_test_<split>.json)")
flags.mark_flag_as_required("savedir")
FLAGS = flags.FLAGS


def evaluate():
  path = os.path.join(FLAGS.savedir, "saved_model")
  if not os.path.isdir(path):
    raise config_lib.ConfigError(f"no SavedModel at {path}: train.py exports one when it finishes")
  config_lib.EpisodeConfig(1, FLAGS.shot or 1, FLAGS.query or 1, 1)  # validates the counts
  if FLAGS.n_test_iters <= 0 or FLAGS.n_test_mc_samp <= 0:
    raise config_lib.ConfigError("--n_test_iters and --n_test_mc_samp must be positive")
  model = tf.saved_model.load(path)
  run = json.loads(model.config_json.numpy().decode())
  dataset = run["run"]["dataset"]
  episode_config = config_lib.EpisodeConfig(
      run["episodes"]["num_ways"], FLAGS.shot or run["episodes"]["num_shots"],
      FLAGS.query or run["episodes"]["num_queries"], 1)
  data_dir = FLAGS.data_dir or os.path.join("..", "shared", "datasets", dataset)
  images = datasets.load(dataset, data_dir, FLAGS.split, FLAGS.cache_dir)

  num_samples = tf.constant(FLAGS.n_test_mc_samp, tf.int32)
  def predict(support_images, support_labels, query_images, index):
    seed = tf.stack([tf.constant(FLAGS.seed, tf.int64), index])
    return model.adapt_and_predict_seeded(support_images, support_labels, query_images, seed,
                                          num_samples)

  start = time.perf_counter()
  def progress(done, accuracies):
    if done % 100 == 0:
      print(f"{done}/{FLAGS.n_test_iters} episodes  running accuracy "
            f"{sum(accuracies) / done:.2f}%  {time.perf_counter() - start:.0f} s", flush=True)

  results = evaluation.meta_test(predict, images, episode_config, FLAGS.n_test_iters, FLAGS.seed,
                                 on_episode=progress)
  print(f"accuracy: {results['accuracy']:.2f} +- {results['ci95']:.2f}")
  results.update(savedir=FLAGS.savedir, split=FLAGS.split, way=episode_config.num_ways,
                 shot=episode_config.num_shots, query=episode_config.num_queries,
                 n_test_mc_samp=FLAGS.n_test_mc_samp, seed=FLAGS.seed)
  output = FLAGS.output or os.path.join(FLAGS.savedir, f"meta_test_{FLAGS.split}.json")
  with open(output, "w") as f:
    json.dump(results, f, indent=1)
  print(f"wrote {output}")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  try:
    evaluate()
  except config_lib.ConfigError as error:
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  app.run(main)
