"""Attacks on the adapted model's query images: balls, steps, and the command end to end."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from helpers import OMNIGLOT_DIR, TFDS_DIR, TINY, run
from metadropout_tf import adversarial
from metadropout_tf import config as config_lib
from metadropout_tf import evaluation

EPSILON = 0.7


@pytest.mark.parametrize("norm", adversarial.NORMS)
def test_projection_lands_in_the_ball_and_keeps_what_is_inside(norm):
  delta = tf.random.stateless_normal([6, 5, 5, 1], [1, 2])
  projected = adversarial.project(delta, norm, EPSILON).numpy().reshape(6, -1)
  order = {"linf": np.inf, "l2": 2, "l1": 1}[norm]
  lengths = np.linalg.norm(projected, ord=order, axis=1)
  np.testing.assert_allclose(lengths, EPSILON, rtol=1e-5)  # every draw was outside: on the sphere
  small = delta * 1e-3
  np.testing.assert_allclose(adversarial.project(small, norm, EPSILON), small, rtol=1e-6)


def test_l1_projection_soft_thresholds_by_one_amount():
  """Duchi et al.'s projection: w = sign(v) * max(|v| - theta, 0) with one theta per image."""
  v = tf.random.stateless_normal([3, 40], [3, 4]).numpy()
  w = adversarial.project(tf.constant(v), "l1", EPSILON).numpy()
  for vi, wi in zip(v, w):
    kept = wi != 0
    shrink = np.abs(vi[kept]) - np.abs(wi[kept])
    np.testing.assert_allclose(shrink, shrink[0], rtol=1e-4)
    assert np.all(np.abs(vi[~kept]) <= shrink[0] + 1e-6)
    np.testing.assert_array_equal(np.sign(wi[kept]), np.sign(vi[kept]))


@pytest.mark.parametrize("norm", adversarial.NORMS)
def test_the_steepest_step_has_unit_norm_and_beats_random_steps(norm):
  gradient = tf.random.stateless_normal([4, 10, 10, 1], [5, 6])
  step = adversarial.steepest_step(gradient, norm).numpy().reshape(4, -1)
  order = {"linf": np.inf, "l2": 2, "l1": 1}[norm]
  np.testing.assert_allclose(np.linalg.norm(step, ord=order, axis=1), 1, rtol=1e-5)
  g = gradient.numpy().reshape(4, -1)
  for _ in range(20):
    other = np.random.default_rng(0).normal(size=g.shape)
    other /= np.linalg.norm(other, ord=order, axis=1, keepdims=True)
    assert np.all((g * step).sum(1) >= (g * other).sum(1) - 1e-5)


@pytest.mark.parametrize("name", ["fgsm_linf", "pgd_linf", "pgd_l2", "pgd_l1"])
def test_attacks_stay_in_the_ball_and_raise_the_query_loss(exported, name):
  _, _, loaded, task = exported
  attack = adversarial.Attack.parse(name)
  adapted = loaded.adapt(task.support_images, task.support_labels, tf.constant([1, 2], tf.int64),
                         tf.constant(2))

  def predict(query_images):
    return loaded.predict_adapted(adapted, task.support_images, query_images)

  epsilon = {"linf": 0.1, "l2": 1.0, "l1": 10.0}[attack.norm]
  adversarial_images = adversarial.perturb(predict, task.query_images, task.query_labels, attack,
                                           epsilon, steps=3)
  delta = (adversarial_images - task.query_images).numpy().reshape(len(task.query_images), -1)
  order = {"linf": np.inf, "l2": 2, "l1": 1}[attack.norm]
  assert np.all(np.linalg.norm(delta, ord=order, axis=1) <= epsilon * (1 + 1e-5))
  assert 0 <= adversarial_images.numpy().min() and adversarial_images.numpy().max() <= 1
  clean = adversarial.query_loss(predict, task.query_images, task.query_labels)
  attacked = adversarial.query_loss(predict, adversarial_images, task.query_labels)
  assert attacked > clean


def test_unknown_attacks_are_refused():
  with pytest.raises(ValueError, match="unknown attack 'pgd_l3'"):
    adversarial.Attack.parse("pgd_l3")


def test_robustness_at_epsilon_zero_is_the_meta_test_accuracy(exported, omniglot_test):
  _, _, loaded, _ = exported
  cfg = config_lib.EpisodeConfig(5, 1, 4, 1)
  images = omniglot_test[0][:200]
  results = adversarial.robustness(loaded, images, cfg, 4, 7, [adversarial.Attack("fgsm", "linf")],
                                   {"linf": [0, 0.2]}, num_samples=2)

  def predict(support_images, support_labels, query_images, seed):
    return loaded.adapt_and_predict_seeded(support_images, support_labels, query_images, seed,
                                           tf.constant(2))

  clean = evaluation.meta_test(predict, images, cfg, 4, 7)
  curve = results["fgsm_linf"]
  assert curve["epsilons"] == [0, 0.2]
  assert curve["accuracies"][0] == clean["accuracies"]
  assert curve["accuracy"][1] <= curve["accuracy"][0]


@pytest.mark.slow
def test_the_robustness_command_writes_json_and_png(tmp_path):
  savedir = str(tmp_path / "run")
  result = run("train.py", f"--savedir={savedir}", "--n_train_iters=2", *TINY)
  assert result.returncode == 0, result.stderr[-2000:]
  output = str(tmp_path / "robustness.json")
  result = run("experiments/adversarial_robustness.py", f"--runs=A={savedir},B={savedir}",
               "--n_test_iters=2", "--n_test_mc_samp=2", "--epsilons=0,0.2", "--steps=2",
               f"--output={output}", f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode == 0, result.stderr[-2000:]
  results = json.load(open(output))
  assert set(results["runs"]) == {"A", "B"}
  assert set(results["runs"]["A"]["attacks"]) == {"fgsm_linf", "pgd_linf", "pgd_l2", "pgd_l1"}
  assert results["runs"]["A"]["attacks"]["pgd_l2"]["epsilons"] == [0, 2.0]
  assert os.path.getsize(str(tmp_path / "robustness.png")) > 10000
  assert "minus A: 0: +0.0 +- 0.0, 0.2: +0.0 +- 0.0" in result.stdout  # B is A's model
  os.remove(str(tmp_path / "robustness.png"))
  redrawn = run("experiments/adversarial_robustness.py", f"--from_json={output}")
  assert redrawn.returncode == 0, redrawn.stderr[-2000:]
  report = redrawn.stdout.splitlines()[:-1]
  assert len(report) == 12 and set(report) <= set(result.stdout.splitlines())  # 2 x 4 + 4 minus
  assert os.path.getsize(str(tmp_path / "robustness.png")) > 10000
  result = run("evaluate.py", f"--savedir={savedir}", "--n_test_iters=2", "--n_test_mc_samp=2",
               f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  evaluated = json.load(open(os.path.join(savedir, "meta_test_test.json")))
  assert results["runs"]["A"]["attacks"]["fgsm_linf"]["accuracies"][0] == evaluated["accuracies"]


@pytest.mark.parametrize("content, reason", [
    ('{"runs": {"A": ', "is not a readable JSON file ("),
    ('{"runs": {}}', "is not a results JSON of this script (StopIteration()")])
@pytest.mark.slow
def test_a_damaged_results_json_is_named_and_refused(tmp_path, content, reason):
  damaged = tmp_path / "robustness.json"
  damaged.write_text(content)
  result = run("experiments/adversarial_robustness.py", f"--from_json={damaged}")
  assert result.returncode != 0
  line = result.stderr.strip().splitlines()[-1]
  assert line.startswith(f"error: {damaged} {reason}"), result.stderr[-2000:]
  assert line.endswith("pass the --output of an earlier run of this script")
