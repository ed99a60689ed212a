"""The noise strategies: sample statistics, deterministic modes, the layer forms."""
import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import noise

N = 200_000  # draws per statistic
SEED = tf.constant([3, 4], tf.int64)


def softplus(x):
  return np.log1p(np.exp(x))


def reference_normal(shape):
  return np.random.default_rng(0).standard_normal(shape)


def generator_weights(outputs):
  """phi weights whose conv output, on a zero input, is `outputs` (one value per channel)."""
  outputs = tf.constant(outputs, tf.float32)
  return {"noise_kernel": tf.zeros([3, 3, 1, outputs.shape[0]]), "noise_bias": outputs}


def perturb(strategy, weights, sample=True, f=None, x=None):
  """The strategy on N examples of 1x1 maps with three channels, f = 1."""
  f = tf.ones([N, 1, 1, 3]) if f is None else f
  x = tf.zeros([N, 1, 1, 1]) if x is None else x
  return strategy.perturb(f, x, weights, sample, SEED).numpy().reshape(N, -1)


def assert_same_distribution(samples, reference):
  np.testing.assert_allclose(samples.mean(0), reference.mean(0), rtol=0.01, atol=1e-3)
  np.testing.assert_allclose(samples.std(0), reference.std(0), rtol=0.02)
  for column in range(samples.shape[1]):  # the whole distribution, not just two moments
    np.testing.assert_allclose(np.quantile(samples[:, column], [0.1, 0.5, 0.9]),
                               np.quantile(reference[:, column], [0.1, 0.5, 0.9]),
                               rtol=0.02, atol=2e-3)


MU = np.array([-2.0, 0.0, 1.5], np.float32)


def test_multiplicative_samples_softplus_of_normal_around_the_generated_mean():
  z = perturb(noise.Multiplicative(), generator_weights(MU))
  assert_same_distribution(z, softplus(MU + reference_normal((N, 3))))
  query = perturb(noise.Multiplicative(), generator_weights(MU), sample=False)
  np.testing.assert_array_equal(query, np.broadcast_to(softplus(MU), (N, 3)).astype(np.float32))


def test_learned_variance_samples_softplus_of_normal_with_the_generated_std():
  log_std = np.array([-1.0, 0.0, 1.0], np.float32)
  weights = generator_weights(np.concatenate([MU, log_std]))
  z = perturb(noise.LearnedVariance(), weights)
  assert_same_distribution(z, softplus(MU + softplus(log_std) * reference_normal((N, 3))))
  query = perturb(noise.LearnedVariance(), weights, sample=False)
  np.testing.assert_allclose(query[0], softplus(MU), rtol=1e-6)


def test_deterministic_uses_the_mean_on_support_and_query():
  weights = generator_weights(MU)
  support = perturb(noise.Deterministic(), weights, sample=True)
  np.testing.assert_array_equal(support, perturb(noise.Deterministic(), weights, sample=False))
  np.testing.assert_allclose(support[0], softplus(MU), rtol=1e-6)


def test_fixed_gaussian_has_no_parameters_and_samples_softplus_of_standard_normal():
  assert noise.FixedGaussian().variables((3, 3, 1, 3), 0) == {}
  z = perturb(noise.FixedGaussian(), {})
  assert_same_distribution(z, softplus(reference_normal((N, 3))))
  np.testing.assert_allclose(perturb(noise.FixedGaussian(), {}, sample=False), np.log(2), rtol=1e-6)


def test_independent_gaussian_is_per_channel_and_ignores_the_input():
  weights = {"noise_mu": tf.constant(MU)}
  z = perturb(noise.IndependentGaussian(), weights, x=tf.random.normal([N, 1, 1, 1]))
  assert_same_distribution(z, softplus(MU + reference_normal((N, 3))))
  query = perturb(noise.IndependentGaussian(), weights, sample=False)
  np.testing.assert_allclose(query[0], softplus(MU), rtol=1e-6)


def test_additive_noise_is_normal_with_lambda_times_the_generated_std():
  f = tf.fill([N, 1, 1, 3], 2.0)
  h = perturb(noise.Additive(), generator_weights(MU), f=f)
  assert_same_distribution(h, 2.0 + 0.1 * softplus(MU) * reference_normal((N, 3)))
  np.testing.assert_array_equal(perturb(noise.Additive(), generator_weights(MU), sample=False, f=f),
                                2.0)


def test_weight_gaussian_equals_sampling_the_weights():
  """The local reparameterisation has the marginal of f under weights ~ N(kernel, s^2)."""
  strategy = noise.WeightGaussian()
  x = tf.constant(np.random.default_rng(1).uniform(size=[1, 3, 3, 2]), tf.float32)
  kernel = tf.random.normal([3, 3, 2, 3], seed=1)
  weights = {"kernel": kernel, "bias": tf.constant([0.1, 0.2, 0.3]),
             "kernel_rho": tf.random.normal([3, 3, 2, 3], -1.0, 0.5, seed=2),
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


def test_sampling_is_a_pure_function_of_the_seed():
  layer = noise.NoisyConv2D(4, "multiplicative", name="conv1")
  x = tf.random.normal([2, 6, 6, 3])
  layer.build(x.shape)
  a, b = layer(x, sample=True, seed=[1, 2]), layer(x, sample=True, seed=[1, 2])
  np.testing.assert_array_equal(a.numpy(), b.numpy())
  assert not np.allclose(a.numpy(), layer(x, sample=True, seed=[1, 3]).numpy())


@pytest.mark.parametrize("name", sorted(noise.STRATEGIES))
def test_every_strategy_builds_its_phi_and_runs_with_given_weights(name):
  layer = noise.NoisyConv2D(4, name, name="conv1")
  layer.build((None, 6, 6, 3))
  specs = noise.STRATEGIES[name]().variables((3, 3, 3, 4), 0)
  assert layer.phi_names == tuple(specs)
  for phi_name, (shape, _) in specs.items():
    assert tuple(getattr(layer, phi_name).shape) == tuple(shape)
  x = tf.random.normal([2, 6, 6, 3])
  weights = noise.own_weights(layer)
  for sample in (False, True):
    np.testing.assert_array_equal(layer(x, sample=sample, seed=[5, 6]).numpy(),
                                  layer.apply(weights, x, sample, tf.constant([5, 6], tf.int64)).numpy())
  f = tf.nn.conv2d(x, layer.kernel.value, 1, "SAME") + layer.bias.value
  sampled = layer(x, sample=True, seed=[5, 6]).numpy()
  assert sampled.shape == (2, 6, 6, 4)
  assert np.array_equal(sampled, f.numpy()) == (name in ("none", "mixup"))  # mixup mixes before


def test_reparameterised_noise_passes_gradient_to_the_generator():
  layer = noise.NoisyConv2D(4, "multiplicative", name="conv1")
  x = tf.random.normal([2, 6, 6, 3])
  layer.build(x.shape)
  with tf.GradientTape() as tape:
    out = layer(x, sample=True, seed=[0, 1])
  grads = tape.gradient(out, [layer.noise_kernel.value, layer.kernel.value])
  assert all(g is not None and np.abs(g.numpy()).sum() > 0 for g in grads)


def test_logit_noise_std_is_softplus_of_the_shared_column():
  head = noise.NoisyDense(5, logit_noise=True, name="head")
  head.build((None, 3))
  head.noise_bias.assign([0.7])
  head.noise_kernel.assign(tf.zeros([3, 1]))
  x = tf.ones([100_000, 3])
  mean = head(x).numpy()
  sampled = head(x, sample=True, seed=tf.constant([5, 6], tf.int64)).numpy()
  np.testing.assert_allclose((sampled - mean).std(0), softplus(0.7), rtol=0.02)
  np.testing.assert_allclose((sampled - mean).mean(0), 0, atol=0.02)
