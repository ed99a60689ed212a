"""The shipped models: each file as the manifest says, each model's recorded accuracies
reproduced exactly on its first episodes, and loadable by name from the CLI."""
import json
import os
import shutil

import pytest
import tensorflow as tf

from helpers import OMNIGLOT_DIR, TFDS_DIR, run
from metadropout_tf import config as config_lib
from metadropout_tf import errors
from metadropout_tf import evaluation
from metadropout_tf import pretrained

SHIPPED = sorted(pretrained.manifest())


def test_models_are_shipped():
  assert SHIPPED, "models/manifest.json lists no model"


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_reproduces_its_recorded_first_episodes(name, omniglot_test):
  entry = pretrained.manifest()[name]
  model, run_config = pretrained.load(name)  # checks every sha256 first
  assert (run_config.dataset, run_config.seed, run_config.meta.meta_gradient) == (
      entry["dataset"], entry["seed"], entry["meta_gradient"])
  episodes = entry["episodes"]
  assert run_config.dataset == "omniglot" and episodes["split"] == "test"
  num_samples = tf.constant(episodes["n_test_mc_samp"], tf.int32)

  def predict(support_images, support_labels, query_images, seed):
    return model.adapt_and_predict_seeded(support_images, support_labels, query_images, seed,
                                          num_samples)

  episode_config = config_lib.EpisodeConfig(episodes["way"], episodes["shot"],
                                            episodes["query"], 1)
  first = entry["first_accuracies"]
  results = evaluation.meta_test(predict, omniglot_test[0], episode_config, len(first),
                                 episodes["seed"])
  assert results["accuracies"] == first


def test_a_damaged_or_missing_file_is_named_and_never_loaded(tmp_path):
  models_dir = str(tmp_path / "models")
  shutil.copytree(pretrained.MODELS_DIR, models_dir)
  name = SHIPPED[0]
  data = os.path.join(models_dir, name, "variables", "variables.index")
  with open(data, "r+b") as f:
    first = f.read(1)
    f.seek(0)
    f.write(bytes([first[0] ^ 1]))
  with pytest.raises(errors.ConfigError, match=r"variables.index of shipped model .* is damaged"):
    pretrained.path(name, models_dir)
  os.remove(data)
  with pytest.raises(errors.ConfigError, match=r"variables.index of shipped model .* is missing"):
    pretrained.path(name, models_dir)


def test_an_unknown_name_lists_the_shipped_ones():
  with pytest.raises(errors.ConfigError, match=r"no shipped model 'nope': choose one of \["):
    pretrained.path("nope")


@pytest.mark.slow
def test_evaluate_meta_tests_a_shipped_model_by_name(tmp_path):
  output = str(tmp_path / "result.json")
  result = run("evaluate.py", f"--model={SHIPPED[0]}", "--n_test_iters=3", f"--output={output}",
               f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode == 0, result.stderr[-1500:]
  recorded = json.load(open(output))
  assert recorded["accuracies"] == pretrained.manifest()[SHIPPED[0]]["first_accuracies"][:3]
  assert recorded["shipped_model"] == SHIPPED[0]
  both = run("evaluate.py", f"--model={SHIPPED[0]}", "--savedir=x")
  assert both.returncode != 0 and "one of them" in both.stderr.strip().splitlines()[-1]
