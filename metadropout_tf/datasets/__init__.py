"""Readers of the official benchmark files, by dataset name."""
from metadropout_tf.datasets import omniglot

# name: (image channels, image size, conv filters of the paper's network)
DATASETS = {"omniglot": (1, omniglot.IMAGE_SIZE, 64)}
_READERS = {"omniglot": omniglot}


def load(dataset, data_dir, split, cache_dir):
  """[classes, per_class, H, W, C] images of a split, float32 in [0, 1]."""
  images, _ = _READERS[dataset].load(data_dir, split, cache_dir)
  return images


def fingerprint(dataset, data_dir):
  """A short hash identifying the data files (`RunConfig.data_fingerprint`)."""
  return _READERS[dataset].fingerprint(data_dir)
