"""The noise layers: sample statistics, deterministic mode, and the functional form."""
import numpy as np
import tensorflow as tf

from metadropout_tf import noise


def softplus(x):
  return np.log1p(np.exp(x))


def test_multiplicative_samples_match_softplus_of_normal():
  mu = np.array([-2.0, 0.0, 1.5], np.float32)
  generated = tf.broadcast_to(mu, [200_000, 3])
  z = noise.Multiplicative().perturb(tf.ones_like(generated), generated, True,
                                     tf.constant([3, 4], tf.int64)).numpy()
  reference = softplus(mu + np.random.default_rng(0).standard_normal((200_000, 3)))
  np.testing.assert_allclose(z.mean(0), reference.mean(0), rtol=0.01)
  np.testing.assert_allclose(z.std(0), reference.std(0), rtol=0.02)
  for column in range(3):  # the whole distribution, not just two moments
    np.testing.assert_allclose(np.quantile(z[:, column], [0.1, 0.5, 0.9]),
                               np.quantile(reference[:, column], [0.1, 0.5, 0.9]), rtol=0.02)


def test_multiplicative_deterministic_mode_is_exact():
  f = tf.random.normal([4, 5, 5, 3])
  mu = tf.random.normal([4, 5, 5, 3])
  out = noise.Multiplicative().perturb(f, mu, False, tf.constant([0, 0], tf.int64))
  np.testing.assert_array_equal(out.numpy(), (f * tf.nn.softplus(mu)).numpy())


def test_sampling_is_a_pure_function_of_the_seed():
  strategy = noise.Multiplicative()
  f, mu = tf.ones([2, 3, 3, 4]), tf.zeros([2, 3, 3, 4])
  a = strategy.perturb(f, mu, True, tf.constant([1, 2], tf.int64))
  b = strategy.perturb(f, mu, True, tf.constant([1, 2], tf.int64))
  c = strategy.perturb(f, mu, True, tf.constant([1, 3], tf.int64))
  np.testing.assert_array_equal(a.numpy(), b.numpy())
  assert not np.allclose(a.numpy(), c.numpy())


def test_reparameterised_noise_passes_gradient_to_the_generator():
  layer = noise.NoisyConv2D(4, "multiplicative", name="conv1")
  x = tf.random.normal([2, 6, 6, 3])
  layer.build(x.shape)
  with tf.GradientTape() as tape:
    out = layer(x, sample=True, seed=tf.constant([0, 1], tf.int64))
  grads = tape.gradient(out, [layer.noise_kernel.value, layer.kernel.value])
  assert all(g is not None and np.abs(g.numpy()).sum() > 0 for g in grads)


def test_no_noise_layer_has_no_generator():
  layer = noise.NoisyConv2D(4, "none", name="conv1")
  layer.build((None, 6, 6, 3))
  assert layer.phi_names == ()
  x = tf.random.normal([2, 6, 6, 3])
  expected = tf.nn.conv2d(x, layer.kernel.value, 1, "SAME") + layer.bias.value
  np.testing.assert_allclose(layer(x, sample=True).numpy(), expected.numpy(), rtol=1e-6)


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
