"""One conformance test for every registered perturbation, and Table 2's baselines' statistics."""
import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import episodes
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf import noise
from test_meta_learner import (SEED, assert_meta_gradient_matches_finite_differences,
                               learner_for, random_task, tiny_model)
from test_noise import N, assert_same_distribution, generator_weights, reference_normal, softplus

EVERY = sorted(noise.STRATEGIES)


@pytest.mark.parametrize("name", EVERY)
def test_meta_gradient_matches_finite_differences(name):
  """theta's and phi's exact meta-gradient, in float64."""
  model = tiny_model(name, dtype="float64")
  names = ["conv3/kernel", "head/kernel"] + [n for n in model.phi if n.startswith("conv")][:2]
  # a step of 1e-7: the unrolled loss bends sharply (batch norm of 3 channels)
  assert_meta_gradient_matches_finite_differences(model, names, step=1e-7, per_name=2)


@pytest.mark.parametrize("name", [n for n in EVERY if noise.STRATEGIES[n]().variables(
    (3, 3, 1, 3), 0)])
def test_phi_learns_through_the_second_order_path(name):
  """Cutting the inner loop's second-order terms changes phi's meta-gradient."""
  task = episodes.Episode(*random_task())
  grads = {}
  for meta_gradient in ("exact", "first_order"):
    model = tiny_model(name)
    learner = learner_for(model, meta_gradient)
    _, _, values = learner.task_gradients(task, SEED)
    grads[meta_gradient] = dict(zip(learner.variables_by_name, values))
  for phi in (n for n in model.phi if n.startswith("conv")):
    exact, first = grads["exact"][phi].numpy(), grads["first_order"][phi].numpy()
    assert np.abs(exact).max() > 0, phi
    assert np.abs(exact - first).max() > 1e-3 * np.abs(exact).max(), phi


@pytest.mark.parametrize("name", EVERY)
def test_inner_steps_lower_the_support_loss(name, omniglot_test):
  cfg = config_lib.EpisodeConfig(5, 1, 15, 1)
  task = episodes.sample_episode(tf.constant(omniglot_test[0][:100]), cfg, SEED)
  model = network.Conv4(config_lib.ModelConfig(num_ways=5, num_filters=16, noise=name))

  def support_loss_after(num_steps):  # the same draws before and after adapting
    fast = meta_learner.adapt(model, model.params, task.support_images, task.support_labels,
                              0.1, num_steps, 4, SEED)
    return float(meta_learner.inner_loss(model, fast, task.support_images, task.support_labels,
                                         4, SEED))

  before, after = support_loss_after(0), support_loss_after(5)
  assert after < 0.99 * before, (before, after)  # (one step from the initial weights may not)


@pytest.mark.parametrize("name", EVERY)
def test_the_query_pass_is_deterministic(name):
  model = tiny_model(name)
  x = tf.random.stateless_uniform([2, 6, 16, 16, 1], [1, 2])
  targets = tf.one_hot(tf.constant([[0, 1, 2, 0, 1, 2]] * 2), 3)
  a, kept, penalty = model.forward_terms(model.params, x, False, tf.constant([1, 2], tf.int64),
                                         targets)
  b = model.forward(model.params, x, False, tf.constant([3, 4], tf.int64))
  np.testing.assert_array_equal(a.numpy(), b.numpy())
  np.testing.assert_array_equal(kept.numpy(), targets.numpy())
  assert penalty is None


def test_vib_samples_around_f_and_its_kl_is_the_gaussian_one():
  strategy = noise.VariationalBottleneck(kl_weight=1e-3)
  f = tf.fill([N, 1, 1, 3], 0.5)
  x = tf.zeros([N, 1, 1, 1])
  weights = generator_weights(np.array([-1.0, 0.0, 1.0], np.float32))
  z = strategy.perturb(f, x, weights, True, SEED).numpy().reshape(N, 3)
  sigma = softplus(np.array([-1.0, 0.0, 1.0]))
  assert_same_distribution(z, 0.5 + sigma * reference_normal((N, 3)))
  np.testing.assert_array_equal(strategy.perturb(f, x, weights, False, SEED).numpy(), f.numpy())
  kl = strategy.penalty(f[:1], x[:1], weights).numpy()
  expected = 1e-3 * np.sum(0.5 * (0.25 + sigma**2 - 1) - np.log(sigma))
  np.testing.assert_allclose(kl, [expected], rtol=1e-5)


def test_information_dropout_is_log_normal_with_the_capped_alpha():
  strategy = noise.InformationDropout(kl_weight=1e-4)
  f = tf.fill([N, 1, 1, 3], 2.0)
  x = tf.zeros([N, 1, 1, 1])
  raw = np.array([-2.0, 0.0, 3.0], np.float32)
  alpha = 0.7 / (1 + np.exp(-raw)) + 1e-3
  z = strategy.perturb(f, x, generator_weights(raw), True, SEED).numpy().reshape(N, 3)
  # shifted by 1: the helper compares means relatively, and these are near 0
  assert_same_distribution(1 + np.log(z / 2.0), 1 + alpha * reference_normal((N, 3)))
  kl = strategy.penalty(f[:1], x[:1], generator_weights(raw)).numpy()
  np.testing.assert_allclose(kl, [1e-4 * np.sum(-np.log(alpha / 0.701))], rtol=1e-5)


@pytest.mark.parametrize("gamma", [0.2, 1.0, 2.0])
def test_mixup_mixes_one_block_per_sample_with_beta_weights(gamma):
  strategy = noise.Mixup(mixup_gamma=gamma)
  samples, batch = 4000, 3
  h = tf.tile(tf.constant([[1.0], [2.0], [4.0]])[None], [samples, 1, 1])  # [S, B, 1]
  targets = tf.tile(tf.eye(3)[None], [samples, 1, 1])
  mixed_by_block, lambdas = [], None
  for block in range(4):
    mixed_h, mixed_t = strategy.mix(tf.reshape(h, [-1, 1]), targets, block, samples,
                                    tf.constant([5, 6], tf.int64))
    mixed_h = tf.reshape(mixed_h, [samples, batch]).numpy()
    mixed_t = mixed_t.numpy()
    np.testing.assert_allclose(mixed_t.sum(-1), 1, rtol=1e-6)
    # features and targets are the same mixture: the value is the targets' expectation of h
    np.testing.assert_allclose(mixed_h, mixed_t @ np.array([1.0, 2.0, 4.0]), rtol=1e-5)
    mixed_by_block.append(np.any(mixed_t != np.eye(3)[None], axis=(1, 2)))
  chosen = np.stack(mixed_by_block, 1)
  assert np.all(chosen.sum(1) <= 1)  # at most one block per sample (lambda may be ~1)
  # a block per sample, uniformly; a sample whose permutation is the identity (1 in 3! = 6)
  # changes nothing
  np.testing.assert_allclose(chosen.mean(0), 0.25 * 5 / 6, atol=0.025)
  # lambda ~ Beta(gamma, gamma): from a sample mixed at its block, read off example 0's weight
  _, t = strategy.mix(tf.zeros([samples * batch, 1]), targets, 0, samples,
                      tf.constant([5, 6], tf.int64))
  rows = t.numpy()[chosen[:, 0], 0]
  weight_on_self = rows[:, 0]
  swapped = weight_on_self < 1  # lambda when the partner is another example
  lambdas = weight_on_self[swapped]
  np.testing.assert_allclose(np.mean(lambdas), 0.5, atol=0.03)
  np.testing.assert_allclose(np.var(lambdas), 1 / (4 * (2 * gamma + 1)), rtol=0.15)


def test_hyperparameters_come_from_the_config():
  cfg = config_lib.ModelConfig(noise="vib", kl_weight=1e-5, num_ways=3)
  assert noise.build(cfg).beta == 1e-5
  assert noise.build(config_lib.ModelConfig(noise="mixup", mixup_gamma=0.2)).gamma == 0.2
  assert noise.build(config_lib.ModelConfig(noise="additive", noise_scale=0.3)).scale == 0.3
  assert noise.build(config_lib.ModelConfig(noise="weight_gaussian",
                                            weight_noise_rho=-5.0)).initial_rho == -5.0
  with pytest.raises(config_lib.ConfigError, match="mixup_gamma must be a positive"):
    config_lib.ModelConfig(noise="mixup", mixup_gamma=0)


def test_table2_baselines_have_no_logit_noise():
  for name in ("mixup", "vib", "information_dropout"):
    assert tiny_model(name).head.logit_noise is False
  assert tiny_model("multiplicative").head.logit_noise is True
