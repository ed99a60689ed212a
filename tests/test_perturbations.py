"""The perturbation family: each one's sample statistics and query value, Table 2's baselines,
hyperparameters from the config. (The conformance test every one passes with every algorithm
is in test_algorithms.)"""
import numpy as np
import pytest
import tensorflow as tf

import helpers
from helpers import (MU, N, NOISE_SEED, assert_same_distribution, generator_weights, perturb,
                     reference_normal, softplus, tiny_model)
from metadropout_tf import config as config_lib
from metadropout_tf import errors
from metadropout_tf import perturbations

SEED = NOISE_SEED
OTHER_SEED = helpers.SEED


def test_multiplicative_samples_softplus_of_normal_around_the_generated_mean():
  z = perturb(perturbations.Multiplicative(), generator_weights(MU))
  assert_same_distribution(z, softplus(MU + reference_normal((N, 3))))
  query = perturb(perturbations.Multiplicative(), generator_weights(MU), sample=False)
  np.testing.assert_array_equal(query, np.broadcast_to(softplus(MU), (N, 3)).astype(np.float32))


def test_learned_variance_samples_softplus_of_normal_with_the_generated_std():
  log_std = np.array([-1.0, 0.0, 1.0], np.float32)
  weights = generator_weights(np.concatenate([MU, log_std]))
  z = perturb(perturbations.LearnedVariance(), weights)
  assert_same_distribution(z, softplus(MU + softplus(log_std) * reference_normal((N, 3))))
  query = perturb(perturbations.LearnedVariance(), weights, sample=False)
  np.testing.assert_allclose(query[0], softplus(MU), rtol=1e-6)


def test_deterministic_uses_the_mean_on_support_and_query():
  weights = generator_weights(MU)
  support = perturb(perturbations.Deterministic(), weights, sample=True)
  np.testing.assert_array_equal(support, perturb(perturbations.Deterministic(), weights, sample=False))
  np.testing.assert_allclose(support[0], softplus(MU), rtol=1e-6)


def test_fixed_gaussian_has_no_parameters_and_samples_softplus_of_standard_normal():
  assert perturbations.FixedGaussian().variables((3, 3, 1, 3), 0) == {}
  z = perturb(perturbations.FixedGaussian(), {})
  assert_same_distribution(z, softplus(reference_normal((N, 3))))
  np.testing.assert_allclose(perturb(perturbations.FixedGaussian(), {}, sample=False), np.log(2), rtol=1e-6)


def test_independent_gaussian_is_per_channel_and_ignores_the_input():
  weights = {"noise_mu": tf.constant(MU)}
  z = perturb(perturbations.IndependentGaussian(), weights, x=tf.random.normal([N, 1, 1, 1]))
  assert_same_distribution(z, softplus(MU + reference_normal((N, 3))))
  query = perturb(perturbations.IndependentGaussian(), weights, sample=False)
  np.testing.assert_allclose(query[0], softplus(MU), rtol=1e-6)


def test_additive_noise_is_normal_with_lambda_times_the_generated_std():
  f = tf.fill([N, 1, 1, 3], 2.0)
  h = perturb(perturbations.Additive(), generator_weights(MU), f=f)
  assert_same_distribution(h, 2.0 + 0.1 * softplus(MU) * reference_normal((N, 3)))
  np.testing.assert_array_equal(perturb(perturbations.Additive(), generator_weights(MU), sample=False, f=f),
                                2.0)


def test_weight_gaussian_equals_sampling_the_weights():
  """The local reparameterisation has the marginal of f under weights ~ N(kernel, s^2)."""
  strategy = perturbations.WeightGaussian()
  x = tf.constant(np.random.default_rng(1).uniform(size=[1, 3, 3, 2]), tf.float32)
  kernel = tf.random.stateless_normal([3, 3, 2, 3], [1, 0])
  weights = {"kernel": kernel, "bias": tf.constant([0.1, 0.2, 0.3]),
             "kernel_rho": tf.random.stateless_normal([3, 3, 2, 3], [2, 0], -1.0, 0.5),
             "bias_rho": tf.constant([-2.0, -1.0, 0.0])}
  f = tf.nn.conv2d(x, kernel, 1, "SAME") + weights["bias"]
  xs = tf.tile(x, [N, 1, 1, 1])
  local = strategy.perturb(tf.tile(f, [N, 1, 1, 1]), xs, weights, True, SEED).numpy()[:, 1, 1]
  eps = reference_normal((N, 3, 3, 2, 3)).astype(np.float32)
  kernels = kernel.numpy() + softplus(weights["kernel_rho"].numpy()) * eps
  biases = weights["bias"].numpy() + softplus(weights["bias_rho"].numpy()) * reference_normal((N, 3))
  centre = np.einsum("hwc,nhwco->no", x.numpy()[0], kernels) + biases  # the centre pixel
  assert_same_distribution(local, centre)
  query = strategy.perturb(f, x, weights, False, SEED)
  np.testing.assert_array_equal(query.numpy(), f.numpy())


def test_vib_samples_around_f_and_its_kl_is_the_gaussian_one():
  strategy = perturbations.VariationalBottleneck(kl_weight=1e-3)
  f = tf.fill([N, 1, 1, 3], 0.5)
  x = tf.zeros([N, 1, 1, 1])
  weights = generator_weights(np.array([-1.0, 0.0, 1.0], np.float32))
  z = strategy.perturb(f, x, weights, True, OTHER_SEED).numpy().reshape(N, 3)
  sigma = softplus(np.array([-1.0, 0.0, 1.0]))
  assert_same_distribution(z, 0.5 + sigma * reference_normal((N, 3)))
  np.testing.assert_array_equal(strategy.perturb(f, x, weights, False, OTHER_SEED).numpy(), f.numpy())
  kl = strategy.penalty(f[:1], x[:1], weights).numpy()
  expected = 1e-3 * np.sum(0.5 * (0.25 + sigma**2 - 1) - np.log(sigma))
  np.testing.assert_allclose(kl, [expected], rtol=1e-5)


def test_information_dropout_is_log_normal_with_the_capped_alpha():
  strategy = perturbations.InformationDropout(kl_weight=1e-4)
  f = tf.fill([N, 1, 1, 3], 2.0)
  x = tf.zeros([N, 1, 1, 1])
  raw = np.array([-2.0, 0.0, 3.0], np.float32)
  alpha = 0.7 / (1 + np.exp(-raw)) + 1e-3
  z = strategy.perturb(f, x, generator_weights(raw), True, OTHER_SEED).numpy().reshape(N, 3)
  # shifted by 1: the helper compares means relatively, and these are near 0
  assert_same_distribution(1 + np.log(z / 2.0), 1 + alpha * reference_normal((N, 3)))
  kl = strategy.penalty(f[:1], x[:1], generator_weights(raw)).numpy()
  np.testing.assert_allclose(kl, [1e-4 * np.sum(-np.log(alpha / 0.701))], rtol=1e-5)


@pytest.mark.parametrize("gamma", [0.2, 1.0, 2.0])
def test_mixup_mixes_one_block_per_sample_with_beta_weights(gamma):
  strategy = perturbations.Mixup(mixup_gamma=gamma)
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
  assert perturbations.build(cfg).beta == 1e-5
  assert perturbations.build(config_lib.ModelConfig(noise="mixup", mixup_gamma=0.2)).gamma == 0.2
  assert perturbations.build(config_lib.ModelConfig(noise="additive", noise_scale=0.3)).scale == 0.3
  assert perturbations.build(config_lib.ModelConfig(noise="weight_gaussian",
                                            weight_noise_rho=-5.0)).initial_rho == -5.0
  with pytest.raises(errors.ConfigError, match="mixup_gamma must be a positive"):
    config_lib.ModelConfig(noise="mixup", mixup_gamma=0)


def test_table2_baselines_have_no_logit_noise():
  for name in ("mixup", "vib", "information_dropout"):
    assert tiny_model(name).head.logit_noise is False
  assert tiny_model("multiplicative").head.logit_noise is True
