"""One seed, split into named streams in one place; the normal draws."""
import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import rng


def test_streams_are_distinct_stable_and_depend_on_the_seed():
  seeds = {name: rng.stream(0, name) for name in rng.STREAMS}
  assert len(set(seeds.values())) == len(rng.STREAMS)
  assert seeds == {name: rng.stream(0, name) for name in rng.STREAMS}
  assert all(rng.stream(1, name) != seed for name, seed in seeds.items())
  assert all(0 <= seed < 2**31 for seed in seeds.values())  # fits every seed argument


def test_an_unknown_stream_is_refused():
  with pytest.raises(ValueError, match="unknown random stream 'weights'"):
    rng.stream(0, "weights")


NORMAL_QUANTILES = [-3.0902, -1.2816, 0.0, 1.2816, 3.0902]  # at 0.1%, 10%, 50%, 90%, 99.9%


@pytest.mark.parametrize("shape", [[7], [3, 5, 11], [400_001]], ids=["odd", "3d", "large-odd"])
def test_normal_has_the_shape_and_is_a_pure_function_of_the_seed(shape):
  seed = tf.constant([5, 6], tf.int64)
  draws = rng.normal(tf.constant(shape), seed)
  assert draws.shape == shape
  np.testing.assert_array_equal(draws, rng.normal(tf.constant(shape), seed))
  assert not np.array_equal(draws, rng.normal(tf.constant(shape), seed + 1))


def test_normal_is_standard_normal():
  draws = rng.normal(tf.constant([400_000]), tf.constant([1, 2], tf.int64)).numpy()
  np.testing.assert_allclose([draws.mean(), draws.std()], [0.0, 1.0], atol=0.01)
  np.testing.assert_allclose(np.quantile(draws, [0.001, 0.1, 0.5, 0.9, 0.999]),
                             NORMAL_QUANTILES, atol=0.03)
  first, second = draws[:200_000], draws[200_000:]
  assert abs(np.corrcoef(first, second)[0, 1]) < 0.01
