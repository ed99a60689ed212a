"""Shared fixtures: the real Omniglot files beside the project, and tiny configs."""
import os

import pytest

import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
from metadropout_tf.datasets import omniglot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OMNIGLOT_DIR = os.path.join(ROOT, "..", "shared", "datasets", "omniglot")
CACHE_DIR = os.path.join(ROOT, ".cache")


@pytest.fixture(scope="session")
def omniglot_test():
  """The 1692 real meta-test classes, [1692, 20, 28, 28, 1]."""
  return omniglot.load(OMNIGLOT_DIR, "test", CACHE_DIR)


@pytest.fixture(scope="session")
def omniglot_trainval():
  return omniglot.load(OMNIGLOT_DIR, "trainval", CACHE_DIR)
