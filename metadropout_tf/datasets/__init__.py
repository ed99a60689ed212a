"""The benchmarks by name: their tensorflow-datasets builders and the paper's network widths.

Importing this package registers the builders "omniglot_vinyals" and "mini_imagenet" with tfds.
"""
import os
from typing import NamedTuple

from metadropout_tf.datasets import manual_builder
from metadropout_tf.datasets import mini_imagenet
from metadropout_tf.datasets import omniglot
from metadropout_tf import files
from metadropout_tf.errors import DataError

SPLITS = ("train", "val", "test", "trainval")  # trainval = train+val


class Benchmark(NamedTuple):
  builder: type  # a manual_builder.ManualImageBuilder
  image_channels: int
  image_size: int
  num_filters: int  # conv channels of the paper's network
  train_split: str  # the paper's meta-training classes


DATASETS = {
    "omniglot": Benchmark(omniglot.OmniglotVinyals, 1, omniglot.IMAGE_SIZE, 64, "trainval"),
    "miniimagenet": Benchmark(mini_imagenet.MiniImagenet, 3, mini_imagenet.IMAGE_SIZE, 32, "train"),
}


def load(dataset, data_dir, split, tfds_data_dir=None):
  """(images uint8 [classes, per_class, H, W, C], class names) of a split of the official files.

  The split is prepared with tfds from `data_dir` on first use (offline) into `tfds_data_dir`
  (default: tfds' own, ~/tensorflow_datasets), then read back in seconds.
  """
  if split not in SPLITS:
    raise DataError(f"unknown split {split!r}: choose one of {SPLITS}")
  tfds_split = "train+val" if split == "trainval" else split
  return manual_builder.load_class_major(DATASETS[dataset].builder, data_dir, tfds_split,
                                         tfds_data_dir)


def fingerprint(dataset, data_dir):
  """A short hash identifying the data files (`RunConfig.data_fingerprint`)."""
  if not os.path.isdir(data_dir):
    raise DataError(f"data directory {files.resolved(data_dir)} does not exist: pass --data_dir pointing at "
                    f"the official {dataset} files")
  return DATASETS[dataset].builder.fingerprint(data_dir)
