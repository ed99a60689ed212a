"""Shared fixtures: the real Omniglot files beside the project, and tiny configs."""
import os
import subprocess
import sys

import pytest
import tensorflow as tf

import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
from metadropout_tf import checkpoints
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


TINY = ["--way=5", "--shot=1", "--query=3", "--metabatch=2", "--n_steps=1", "--num_filters=4",
        "--eval_freq=0", "--log_freq=1", f"--data_dir={OMNIGLOT_DIR}", f"--cache_dir={CACHE_DIR}"]


def run(script, *args, timeout=600):
  return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=timeout)


def checkpoint_values(savedir, step=None):
  """{name: value} of checkpoint ckpt-`step` of a run (default: the newest on disk)."""
  step = step or checkpoints.steps_on_disk(os.path.join(savedir, "checkpoints"))[0]
  reader = tf.train.load_checkpoint(os.path.join(savedir, "checkpoints", f"ckpt-{step}"))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if k.startswith(("weights/", "optimizer/", "step/"))}


def last_line(result):
  return result.stderr.strip().splitlines()[-1]
