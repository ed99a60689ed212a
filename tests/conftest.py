"""Shared fixtures: the real benchmarks beside the project, prepared once offline; a trained
tiny run; an exported model. (Shared helpers are in helpers.py.)"""
import pytest
import tensorflow as tf

import helpers
from helpers import MINI_IMAGENET_DIR, OMNIGLOT_DIR, TFDS_DIR, no_network, train
from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import episodes
from metadropout_tf import export
from metadropout_tf import meta_learner
from metadropout_tf import network


@pytest.fixture(autouse=True)
def processes_only_in_slow_tests(request):
  """helpers.run refuses to start a process unless the test is marked slow, so that
  `pytest -m "not slow"` runs only in-process tests."""
  helpers.current_test_is_slow[0] = request.node.get_closest_marker("slow") is not None
  yield
  helpers.current_test_is_slow[0] = True  # session fixtures (finished_run) run outside tests



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
                               algorithm="meta_sgd")
  learner = meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(5, 1, 4, 1))
  for name, lr in learner.variables_by_name.items():
    if name.endswith("/inner_lr"):
      lr.assign(tf.random.uniform(lr.shape, 0.0, 0.5, seed=7))
  path = str(tmp_path_factory.mktemp("export") / "saved_model")
  export.save(learner.algorithm, learner.params, {"note": "test"}, path)
  task = episodes.sample_episode(tf.constant(omniglot_test[0][:50]),
                                 config_lib.EpisodeConfig(5, 1, 4, 1), tf.constant([1, 2], tf.int64))
  return learner, meta, tf.saved_model.load(path), task




@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
  """A tiny 4-step meta-dropout run, checkpoints at steps 2 and 4 (tests that change it copy it)."""
  savedir = str(tmp_path_factory.mktemp("finished") / "run")
  result = train(savedir)
  assert result.returncode == 0, result.stderr[-2000:]
  return savedir
