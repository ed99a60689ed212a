"""The Keras layers of the conv4, each runnable with its own weights or with given ones.

`NoisyConv2D` (a conv and its perturbation), `NoisyDense` (the head) and `BatchNorm` (batch
moments, a meta-learned offset) declare which of their weights are theta (adapted in the inner
loop), phi (the perturbation's, meta-learned only) and outer (meta-learned only), and each has a
pure `apply(weights, x, ...)` so fast weights flow through it as tensors.
"""
import enum

import keras
import tensorflow as tf

from metadropout_tf import perturbations
from metadropout_tf import rng
from metadropout_tf.initializers import conv_init
from metadropout_tf.initializers import dense_init

BN_EPSILON = 1e-3  # tf.contrib.layers.batch_norm's default, used by the original


class Backward(enum.Enum):
  """What batch norm's backward pass must support, so each pass pays only for what it needs."""
  # Differentiated again by an outer tape (the inner loss under the exact meta-gradient): it
  # recomputes the moments from its input, which that tape then differentiates exactly.
  DIFFERENTIABLE = "differentiable"
  # Differentiated again, but held constant there (the authors' TF 1.12 meta-gradient, see
  # `with_constant_backward`): that derivative stops at it, so it reuses its moments as ONCE does.
  CONSTANT = "constant"
  # Never differentiated again (the query pass, first-order and meta-test inner steps): it
  # reuses the forward pass's moments, the same values without recomputing them.
  ONCE = "once"


class WeightedLayer(keras.layers.Layer):
  """A layer whose weights have roles: `theta_names`, `phi_names`, `outer_names`."""
  theta_names = phi_names = outer_names = ()

  @property
  def weight_names(self):
    return self.theta_names + self.phi_names + self.outer_names

  def weights_from(self, params=None):
    """{short name: tensor} for `apply`: from `params` ({"conv1/kernel": tensor, ...}, fast
    weights allowed), or the layer's own variables."""
    if params is None:
      return {name: getattr(self, name).value for name in self.weight_names}
    return {name: params[f"{self.name}/{name}"] for name in self.weight_names}


class NoisyConv2D(WeightedLayer):
  """3x3 "same" conv (theta) with its perturbation's variables (phi).

  Runs with its own variables (`call`) or with given ones (`apply`), so the
  inner loop can pass fast weights as tensors.
  """
  theta_names = ("kernel", "bias")

  def __init__(self, filters, noise="multiplicative", seed=0, perturbation=None, **kwargs):
    """`perturbation`: a `perturbations.Perturbation` (default: `noise`'s, with its default
    hyperparameters)."""
    super().__init__(**kwargs)
    self.filters = filters
    self.seed = seed
    self.noise = noise
    self.perturbation = perturbation or perturbations.PERTURBATIONS[noise]()
    self.phi_names = ()

  def build(self, input_shape):
    kernel_shape = (3, 3, input_shape[-1], self.filters)
    self.kernel = self.add_weight(name="kernel", shape=kernel_shape,
                                  initializer=conv_init(self.seed))
    self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
    phi = self.perturbation.variables(kernel_shape, self.seed + 1)
    for name, (shape, initializer) in phi.items():
      setattr(self, name, self.add_weight(name=name, shape=shape, initializer=initializer))
    self.phi_names = tuple(phi)

  def apply(self, weights, x, sample, seed):
    """The layer as a pure function of `weights` (short name -> tensor).

    x: [B, H, W, C_in] -> perturbed pre-activation [B, H, W, filters].
    """
    return self.apply_terms(weights, x, sample, seed)[0]

  def apply_terms(self, weights, x, sample, seed):
    """(perturbed pre-activation, the perturbation's inner-loss term [B] or None)."""
    f = tf.nn.bias_add(tf.nn.conv2d(x, weights["kernel"], 1, "SAME"), weights["bias"])
    penalty = self.perturbation.penalty(f, x, weights) if sample else None
    return self.perturbation.perturb(f, x, weights, sample, seed), penalty

  def call(self, x, sample=False, seed=(0, 0)):
    return self.apply(self.weights_from(), x, sample, tf.convert_to_tensor(seed, tf.int64))

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "noise": self.noise,
            "seed": self.seed}


class NoisyDense(WeightedLayer):
  """The classifier head, with the original code's logit noise when sampling.

  logits = h @ W + b; when `logit_noise` and sampling, logits + sigma * eps with
  sigma = softplus(h @ w + b) from one learned column shared by all classes.
  """
  theta_names = ("kernel", "bias")

  def __init__(self, units, logit_noise=True, seed=0, **kwargs):
    super().__init__(**kwargs)
    self.units = units
    self.seed = seed
    self.logit_noise = logit_noise

  @property
  def phi_names(self):
    return ("noise_kernel", "noise_bias") if self.logit_noise else ()

  def build(self, input_shape):
    in_features = input_shape[-1]
    self.kernel = self.add_weight(name="kernel", shape=(in_features, self.units),
                                  initializer=dense_init(self.seed))
    self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
    if self.logit_noise:
      self.noise_kernel = self.add_weight(name="noise_kernel", shape=(in_features, 1),
                                          initializer=dense_init(self.seed + 1))
      self.noise_bias = self.add_weight(name="noise_bias", shape=(1,), initializer="zeros")

  def apply(self, weights, x, sample, seed):
    """x: [B, F] -> logits [B, units]."""
    logits = tf.matmul(x, weights["kernel"]) + weights["bias"]
    if not (self.logit_noise and sample):
      return logits
    sigma = tf.nn.softplus(tf.matmul(x, weights["noise_kernel"]) + weights["noise_bias"])
    return logits + sigma * rng.normal(tf.shape(logits), seed, logits.dtype)

  def call(self, x, sample=False, seed=(0, 0)):
    return self.apply(self.weights_from(), x, sample, seed)

  def get_config(self):
    return {**super().get_config(), "units": self.units, "logit_noise": self.logit_noise,
            "seed": self.seed}


class BatchNorm(WeightedLayer):
  """Batch norm from the current batch's moments with a learned offset, no scale.

  Matches the original's tf.contrib batch_norm(center=True, scale=False) in
  training mode, which it used at meta-test too (transductive, as MAML). The
  moments are taken per Monte Carlo sample, and only over the first `num_stats`
  examples of each, which gives the inductive "support" mode.
  """
  outer_names = ("offset",)

  def build(self, input_shape):
    self.offset = self.add_weight(name="offset", shape=(input_shape[-1],), initializer="zeros")

  def apply(self, weights, x, num_samples, num_stats=None, backward=Backward.DIFFERENTIABLE,
            pool=False):
    """x: [S*B, H, W, C], S = num_samples sample-major -> same shape (pool: its 2x2 max pool,
    see `batch_normalize`); `backward`: a `Backward`.
    """
    if not isinstance(backward, Backward):
      raise TypeError(f"backward must be a layers.Backward, got {backward!r}")

    def normalize(x, offset):
      return batch_normalize(x, offset, num_samples, num_stats, pool,
                             recompute=backward is Backward.DIFFERENTIABLE)

    if backward is Backward.CONSTANT:
      normalize = with_constant_backward(normalize)
    # A tensor, not a variable (as under a tf.distribute strategy): custom gradients take tensors.
    return normalize(x, tf.convert_to_tensor(weights["offset"]))

  def call(self, x):
    return self.apply(self.weights_from(), x, 1)


def _moments(grouped, num_stats):
  """(mean, x - mean, rsqrt(variance + eps)) of grouped [S, B, H, W, C]: moments per sample and
  channel over the first `num_stats` of the B examples (None: all), mean and scale [S, 1, 1, 1, C].
  """
  stats = grouped if num_stats is None else grouped[:, :num_stats]
  # Not tf.nn.moments: its stop_gradient on the mean is exact for first-order
  # gradients only, and made the second-order meta-gradient wrong by ~5%.
  mean = _mean_per_sample(stats)
  centered = grouped - mean
  centered_stats = centered if num_stats is None else centered[:, :num_stats]
  return mean, centered, tf.math.rsqrt(_mean_per_sample(tf.square(centered_stats)) + BN_EPSILON)


def static_shape(t):
  """t's shape as Python ints where known: XLA needs shapes it can fold (in a loop's gradient,
  tf.shape's value comes from the loop and is not)."""
  return t.shape.as_list() if t.shape.is_fully_defined() else tf.shape(t)


def _sum_per_sample(t):
  """t [S, B, H, W, C] summed over B, H, W -> [S, 1, 1, 1, C], as a matrix product: three times
  faster than tf.reduce_sum over the middle axes on CPU."""
  shape = static_shape(t)
  flat = tf.reshape(t, [shape[0], -1, t.shape[-1]])
  ones = tf.ones(tf.stack([shape[0], 1, tf.reduce_prod(shape[1:4])]), t.dtype)
  return tf.reshape(tf.matmul(ones, flat), [-1, 1, 1, 1, t.shape[-1]])


def _count_per_sample(t):
  """How many values of t [S, B, H, W, C] each per-sample, per-channel moment averages."""
  return tf.cast(tf.reduce_prod(static_shape(t)[1:4]), t.dtype)


def _mean_per_sample(t):
  return _sum_per_sample(t) / _count_per_sample(t)


def max_pool(x):
  return tf.nn.max_pool2d(x, 2, 2, "VALID")


def batch_normalize(x, offset, num_samples, num_stats=None, pool=False, recompute=True):
  """(x - mean) / sqrt(variance + eps) + offset, x [S*B, H, W, C] sample-major, moments per sample.

  pool: normalize the 2x2 max pool of x instead, with x's moments. Both are
  monotone per channel, so this equals pooling the normalized x, and
  normalizes a quarter of the values.

  Its gradient is written in closed form (a third of the ops autodiff makes of
  the moments, which were a third of a meta-iteration's time), and the
  backward pass recomputes the moments from x so that an outer tape
  differentiates it exactly: the second-order meta-gradient stays exact.
  recompute=False reuses the forward's moments instead, for a backward that is
  not differentiated again (the same gradient, fewer passes over x).
  """
  def grouped(t):
    return tf.reshape(t, [num_samples, -1, *t.shape[1:]])

  def centered_inputs(x):
    """(centered x, scale, the values normalized (x or its pool), those values centered)."""
    mean, centered, scale = _moments(grouped(x), num_stats)
    if not pool:
      return centered, scale, x, centered
    pooled = max_pool(x)
    return centered, scale, pooled, grouped(pooled) - mean

  @tf.custom_gradient
  def normalize(x, offset):
    forward = centered_inputs(x)
    _, scale, _, inputs = forward
    normalized = tf.reshape(inputs * scale + offset, [-1, *inputs.shape[2:]])

    def backward(dy):
      centered, scale, outputs, inputs = centered_inputs(x) if recompute else forward
      dy = grouped(dy)
      dy_sum = _sum_per_sample(dy)
      d_mean = -scale * dy_sum
      d_variance = -0.5 * scale ** 3 * _sum_per_sample(dy * inputs)
      stats = centered if num_stats is None else centered[:, :num_stats]
      through_stats = (d_mean + 2.0 * d_variance * stats) / _count_per_sample(stats)
      if num_stats is not None:
        rest = static_shape(centered)[1] - num_stats
        through_stats = tf.pad(through_stats, [[0, 0], [0, rest], [0, 0], [0, 0], [0, 0]])
      direct = tf.reshape(dy * scale, static_shape(outputs))
      if pool:
        direct = tf.raw_ops.MaxPoolGrad(orig_input=x, orig_output=outputs, grad=direct,
                                        ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
      d_x = direct + tf.reshape(through_stats, static_shape(x))
      return d_x, tf.reduce_sum(dy_sum, axis=[0, 1, 2, 3])

    return normalized, backward

  return normalize(x, offset)


def with_constant_backward(function):
  """`function(x, offset)` whose backward pass is a constant to higher derivatives.

  The first derivative is the usual one; differentiating that derivative again
  treats it as a constant. This is what the authors' code computed: in TF 1.12,
  `tf.contrib.layers.batch_norm` is the fused op, and inside their `tf.map_fn`
  the gradient of its backward op (`FusedBatchNormGrad`) came out as None, so
  every second-order term of the meta-gradient that passes through batch norm's
  backward pass was dropped. Paths that avoid it (the head's inner gradient, and
  the conv kernels' gradients through their inputs and the noise) are kept.
  """
  @tf.custom_gradient
  def constant_backward(x, offset):
    def backward(dy):
      with tf.GradientTape() as tape:  # recomputes the cheap forward for its gradient
        tape.watch([x, offset])
        y = function(x, offset)
      return [tf.stop_gradient(g) for g in tape.gradient(y, [x, offset], output_gradients=dy)]
    return function(x, offset), backward
  return constant_backward
