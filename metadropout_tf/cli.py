"""Flags shared by the command-line scripts: which benchmark, its files, tfds' data directory."""
import os

from absl import flags

from metadropout_tf import config as config_lib
from metadropout_tf import datasets

FLAGS = flags.FLAGS


def define_data_flags(with_dataset=True):
  """--dataset (unless the run's config names it), --data_dir and --tfds_data_dir."""
  if with_dataset:
    flags.DEFINE_enum("dataset", "omniglot", list(datasets.DATASETS), "benchmark")
  flags.DEFINE_string("data_dir", None, "the benchmark's official files "
                      "(default ../shared/datasets/<dataset>)")
  flags.DEFINE_string("tfds_data_dir", None, "where tensorflow-datasets keeps the prepared "
                      "benchmarks (default: its own, $TFDS_DATA_DIR or ~/tensorflow_datasets)")


def data_dir(dataset):
  return FLAGS.data_dir or os.path.join("..", "shared", "datasets", dataset)


def labelled_dirs(items):
  """{label: directory} of --runs=LABEL=DIR,... items."""
  runs = {}
  for item in items:
    label, _, directory = item.partition("=")
    if not label or not directory:
      raise config_lib.ConfigError(f"--runs item {item!r} is not LABEL=SAVEDIR")
    runs[label] = directory
  return runs
