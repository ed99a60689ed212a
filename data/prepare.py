"""Prepares a benchmark with tensorflow-datasets from its official files, and reports its splits.

  python data/prepare.py --dataset=miniimagenet [--data_dir=...] [--tfds_data_dir=...]

train.py and evaluate.py do the same on first use; this lets a cluster job start warm. Nothing
is downloaded: the official files are tfds' manual directory.
"""
import sys
import time

from absl import app

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
from metadropout_tf import cli
from metadropout_tf import datasets
from metadropout_tf import errors
from metadropout_tf.datasets import manual_builder

cli.define_data_flags()
FLAGS = cli.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  console.quiet_python_loggers()
  start = time.perf_counter()
  try:
    builder = manual_builder.prepared_builder(datasets.DATASETS[FLAGS.dataset].builder,
                                              cli.data_dir(FLAGS.dataset), FLAGS.tfds_data_dir)
  except errors.DataError as error:
    sys.exit(f"error: {error}")
  for split, shape in builder.info.metadata["splits"].items():
    print(f"{builder.name} {split}: {shape['classes']} classes x {shape['per_class']} images "
          f"{builder.IMAGE_SHAPE}")
  print(f"prepared in {builder.data_dir} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
  app.run(main)
