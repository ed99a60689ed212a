"""The conv4 with given weights: the Keras call, batch-norm moments per sample, MAML's empty phi."""
import numpy as np
import pytest
import tensorflow as tf

from helpers import SEED, tiny_model
from metadropout_tf import config as config_lib
from metadropout_tf import errors
from metadropout_tf import network


def test_maml_mode_has_no_phi():
  model = tiny_model(noise="none")
  assert model.phi == {}
  x = tf.random.uniform([4, 16, 16, 1])
  np.testing.assert_array_equal(model(x, sample=True, seed=SEED).numpy(), model(x).numpy())


def test_functional_forward_with_given_weights_equals_the_keras_call():
  model, other = tiny_model(), tiny_model()
  x = tf.random.uniform([6, 16, 16, 1])
  fast = {k: v + 0.05 * tf.random.normal(v.shape) for k, v in model.params.items()}
  for name, value in fast.items():
    other.named_variables()[name].assign(value)
  for sample in (False, True):
    functional = model.forward(fast, x[None], sample, SEED)[0]
    np.testing.assert_allclose(functional.numpy(), other(x, sample=sample, seed=SEED).numpy(),
                               rtol=1e-5, atol=1e-6)
  assert not np.allclose(model(x).numpy(), other(x).numpy())  # the variables were not touched


def test_batch_norm_moments_stay_per_monte_carlo_sample():
  model = tiny_model()
  a, b = tf.random.uniform([5, 16, 16, 1]), 3 * tf.random.uniform([5, 16, 16, 1])
  # Without noise: the second sample's noise would come from other positions of the draw.
  batched = model.forward(model.params, tf.stack([a, b]), False, SEED)
  alone = model.forward(model.params, b[None], False, SEED)
  np.testing.assert_allclose(batched[1].numpy(), alone[0].numpy(), rtol=1e-5, atol=1e-6)


def test_an_unknown_perturbation_is_one_clear_error():
  with pytest.raises(errors.ConfigError, match="unknown noise 'dropout': choose one of"):
    network.Conv4(config_lib.ModelConfig(noise="dropout"))
