"""The layers: a conv with its perturbation's phi, the head's logit noise, weights by role."""
import numpy as np
import pytest
import tensorflow as tf

from helpers import softplus
from metadropout_tf import layers
from metadropout_tf import perturbations


def test_sampling_is_a_pure_function_of_the_seed():
  layer = layers.NoisyConv2D(4, "multiplicative", name="conv1")
  x = tf.random.normal([2, 6, 6, 3])
  layer.build(x.shape)
  a, b = layer(x, sample=True, seed=[1, 2]), layer(x, sample=True, seed=[1, 2])
  np.testing.assert_array_equal(a.numpy(), b.numpy())
  assert not np.allclose(a.numpy(), layer(x, sample=True, seed=[1, 3]).numpy())


@pytest.mark.parametrize("name", sorted(perturbations.PERTURBATIONS))
def test_every_perturbation_builds_its_phi_and_runs_with_given_weights(name):
  layer = layers.NoisyConv2D(4, name, name="conv1")
  layer.build((None, 6, 6, 3))
  specs = perturbations.PERTURBATIONS[name]().variables((3, 3, 3, 4), 0)
  assert layer.phi_names == tuple(specs)
  for phi_name, (shape, _) in specs.items():
    assert tuple(getattr(layer, phi_name).shape) == tuple(shape)
  x = tf.random.normal([2, 6, 6, 3])
  weights = layer.weights_from()
  for sample in (False, True):
    np.testing.assert_array_equal(layer(x, sample=sample, seed=[5, 6]).numpy(),
                                  layer.apply(weights, x, sample, tf.constant([5, 6], tf.int64)).numpy())
  f = tf.nn.conv2d(x, layer.kernel.value, 1, "SAME") + layer.bias.value
  sampled = layer(x, sample=True, seed=[5, 6]).numpy()
  assert sampled.shape == (2, 6, 6, 4)
  assert np.array_equal(sampled, f.numpy()) == (name in ("none", "mixup"))  # mixup mixes before


def test_reparameterised_noise_passes_gradient_to_the_generator():
  layer = layers.NoisyConv2D(4, "multiplicative", name="conv1")
  x = tf.random.normal([2, 6, 6, 3])
  layer.build(x.shape)
  with tf.GradientTape() as tape:
    out = layer(x, sample=True, seed=[0, 1])
  grads = tape.gradient(out, [layer.noise_kernel.value, layer.kernel.value])
  assert all(g is not None and np.abs(g.numpy()).sum() > 0 for g in grads)


def test_logit_noise_std_is_softplus_of_the_shared_column():
  head = layers.NoisyDense(5, logit_noise=True, name="head")
  head.build((None, 3))
  head.noise_bias.assign([0.7])
  head.noise_kernel.assign(tf.zeros([3, 1]))
  x = tf.ones([100_000, 3])
  mean = head(x).numpy()
  sampled = head(x, sample=True, seed=tf.constant([5, 6], tf.int64)).numpy()
  np.testing.assert_allclose((sampled - mean).std(0), softplus(0.7), rtol=0.02)
  np.testing.assert_allclose((sampled - mean).mean(0), 0, atol=0.02)


def test_weights_from_names_each_role_once():
  conv, norm = layers.NoisyConv2D(4, "multiplicative", name="conv1"), layers.BatchNorm(name="bn1")
  conv.build((None, 6, 6, 3))
  norm.build((None, 6, 6, 4))
  assert conv.weight_names == ("kernel", "bias", "noise_kernel", "noise_bias")
  assert norm.weight_names == ("offset",)
  params = {f"conv1/{n}": tf.constant(float(i)) for i, n in enumerate(conv.weight_names)}
  assert {k: float(v) for k, v in conv.weights_from(params).items()} == {
      "kernel": 0.0, "bias": 1.0, "noise_kernel": 2.0, "noise_bias": 3.0}
  assert set(conv.weights_from()) == set(conv.weight_names)


@pytest.mark.parametrize("num_stats, pool", [(None, True), (2, False)])
def test_batch_norm_backward_once_is_the_differentiable_gradient_without_recomputing(num_stats,
                                                                                       pool):
  norm = layers.BatchNorm(name="bn1")
  norm.build((None, 4, 4, 3))
  x = tf.random.normal([2 * 3, 4, 4, 3], seed=1)  # S = 2 samples of 3 examples
  gradients = {}
  for backward in layers.Backward:
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = norm.apply(norm.weights_from(), x, 2, num_stats, backward, pool)
      loss = tf.reduce_sum(tf.sin(y))
    gradients[backward] = tape.gradient(loss, x).numpy()
  np.testing.assert_array_equal(gradients[layers.Backward.ONCE],
                                gradients[layers.Backward.DIFFERENTIABLE])
  np.testing.assert_allclose(gradients[layers.Backward.CONSTANT],
                             gradients[layers.Backward.DIFFERENTIABLE], atol=1e-6)
  assert np.abs(gradients[layers.Backward.ONCE]).max() > 1e-3
  with pytest.raises(TypeError, match="layers.Backward"):
    norm.apply(norm.weights_from(), x, 2, num_stats, True, pool)
