"""Prepares a benchmark from its official files: validates and caches the splits.

  python data/prepare.py --dataset=omniglot --data_dir=../shared/datasets/omniglot

train.py does the same on first use; this lets a cluster job start warm and
reports the class counts of every split.
"""
import sys

from absl import app
from absl import flags

import metadropout_tf  # noqa: F401
from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf.datasets import omniglot

flags.DEFINE_enum("dataset", "omniglot", list(datasets.DATASETS), "benchmark")
flags.DEFINE_string("data_dir", "../shared/datasets/omniglot", "the official files")
flags.DEFINE_string("cache_dir", ".cache", "where processed arrays are cached")
FLAGS = flags.FLAGS


def main(_):
  try:
    for split in omniglot.SPLITS:
      images = datasets.load(FLAGS.dataset, FLAGS.data_dir, split, FLAGS.cache_dir)
      print(f"{FLAGS.dataset} {split}: {images.shape[0]} classes x {images.shape[1]} images "
            f"{images.shape[2:]}")
  except config_lib.ConfigError as error:
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  app.run(main)
