"""Shared fixtures: the real benchmarks beside the project, prepared once offline; tiny configs."""
import contextlib
import os
import socket
import subprocess
import sys

import pytest
import tensorflow as tf

import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
from metadropout_tf import checkpoints
from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import episodes
from metadropout_tf import export
from metadropout_tf import meta_learner
from metadropout_tf import network

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS_DIR = os.path.join(ROOT, "..", "shared", "datasets")
OMNIGLOT_DIR = os.path.join(DATASETS_DIR, "omniglot")
MINI_IMAGENET_DIR = os.path.join(DATASETS_DIR, "miniimagenet")
TFDS_DIR = os.path.join(ROOT, ".cache", "tensorflow_datasets")  # shared by the suite's runs


@contextlib.contextmanager
def no_network():
  """Fails any attempt to open an internet connection inside the block; yields the attempts."""
  attempts = []
  real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

  def connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
      attempts.append(address)
      raise OSError(f"network access attempted: {address}")
    return real_connect(sock, address)

  def getaddrinfo(host, *args, **kwargs):
    attempts.append(host)
    raise OSError(f"network access attempted: {host}")

  socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
  try:
    yield attempts
  finally:
    socket.socket.connect, socket.getaddrinfo = real_connect, real_getaddrinfo


@pytest.fixture(scope="session", autouse=True)
def prepared_benchmarks():
  """Both benchmarks prepared with tfds from the official files, with the network blocked."""
  with no_network() as attempts:
    for name, folder in (("omniglot", OMNIGLOT_DIR), ("miniimagenet", MINI_IMAGENET_DIR)):
      datasets.manual_builder.prepared_builder(datasets.DATASETS[name].builder, folder, TFDS_DIR)
  assert not attempts


@pytest.fixture(scope="session")
def omniglot_test():
  """The 1692 real meta-test classes: (uint8 [1692, 20, 28, 28, 1], class names)."""
  return datasets.load("omniglot", OMNIGLOT_DIR, "test", TFDS_DIR)


@pytest.fixture(scope="session")
def omniglot_trainval():
  return datasets.load("omniglot", OMNIGLOT_DIR, "trainval", TFDS_DIR)


@pytest.fixture(scope="session")
def mini_imagenet_test():
  """The 20 real miniImageNet meta-test classes: (uint8 [20, 600, 84, 84, 3], wnids)."""
  return datasets.load("miniimagenet", MINI_IMAGENET_DIR, "test", TFDS_DIR)


@pytest.fixture(scope="session")
def exported(tmp_path_factory, omniglot_test):
  """Meta-SGD + meta-dropout, with step sizes that differ from --inner_lr."""
  model = network.Conv4(config_lib.ModelConfig(num_ways=5, num_filters=8))
  meta = config_lib.MetaConfig(inner_lr=0.1, num_inner_steps=2, num_test_mc_samples=3,
                               meta_sgd=True)
  learner = meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(5, 1, 4, 1))
  for lr in learner.inner_lrs.values():
    lr.assign(tf.random.uniform(lr.shape, 0.0, 0.5, seed=7))
  path = str(tmp_path_factory.mktemp("export") / "saved_model")
  export.save(model, learner.params, meta, {"note": "test"}, path)
  task = episodes.sample_episode(tf.constant(omniglot_test[0][:50]),
                                 config_lib.EpisodeConfig(5, 1, 4, 1), tf.constant([1, 2], tf.int64))
  return learner, meta, tf.saved_model.load(path), task



# Tiny runs meta-train on Omniglot's val split (688 classes): it loads in a second, trainval in ~10.
TINY = ["--way=5", "--shot=1", "--query=3", "--metabatch=2", "--n_steps=1", "--num_filters=4",
        "--eval_freq=0", "--log_freq=1", "--train_split=val", f"--data_dir={OMNIGLOT_DIR}",
        f"--tfds_data_dir={TFDS_DIR}"]


def run(script, *args, timeout=600):
  return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=timeout)


def checkpoint_values(savedir, step=None):
  """{name: value} of checkpoint ckpt-`step` of a run (default: the newest on disk)."""
  directory = os.path.join(savedir, "checkpoints")
  return checkpoints.saved_tensors(directory, step or checkpoints.steps_on_disk(directory)[0])


def last_line(result):
  return result.stderr.strip().splitlines()[-1]


def train(savedir, *args, iters=4):
  return run("train.py", f"--savedir={savedir}", f"--n_train_iters={iters}", "--save_freq=2",
             *TINY, *args)


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
  """A tiny 4-step meta-dropout run, checkpoints at steps 2 and 4 (tests that change it copy it)."""
  savedir = str(tmp_path_factory.mktemp("finished") / "run")
  result = train(savedir)
  assert result.returncode == 0, result.stderr[-2000:]
  return savedir
