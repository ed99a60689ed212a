"""The conv4 network of MAML with meta-dropout, runnable with given weights.

Four blocks of [3x3 conv (theta) * noise (phi) -> batch norm -> ReLU -> 2x2 max
pool], then a dense head. As in the authors' code, the noise multiplies the conv
output before batch norm. Weights live in three groups:
  theta: adapted by the inner loop and meta-learned (convs' and head's kernel, bias);
  phi:   the noise generators, meta-learned only (Eq. 4);
  outer: batch-norm offsets, meta-learned only (as in the original code).
`forward(params, ...)` is a pure function of a {name: tensor} dict, so fast
weights flow through it without assign or set_weights.
"""
import keras
import tensorflow as tf

from metadropout_tf import noise as noise_lib
from metadropout_tf import rng

BN_EPSILON = 1e-3  # tf.contrib.layers.batch_norm's default, used by the original
NUM_BLOCKS = 4


class BatchNorm(keras.layers.Layer):
  """Batch norm from the current batch's moments with a learned offset, no scale.

  Matches the original's tf.contrib batch_norm(center=True, scale=False) in
  training mode, which it used at meta-test too (transductive, as MAML). The
  moments are taken per Monte Carlo sample, and only over the first `num_stats`
  examples of each, which gives the inductive "support" mode.
  """
  theta_names = phi_names = ()
  outer_names = ("offset",)

  def build(self, input_shape):
    self.offset = self.add_weight(name="offset", shape=(input_shape[-1],), initializer="zeros")

  def apply(self, weights, x, num_samples, num_stats=None, constant_backward=False, pool=False):
    """x: [S*B, H, W, C], S = num_samples sample-major -> same shape (pool: its 2x2 max pool,
    see `batch_normalize`).

    constant_backward: compute the gradient as usual, but hold that gradient
    constant when it is differentiated again (see `with_constant_backward`).
    """
    def normalize(x, offset):
      return batch_normalize(x, offset, num_samples, num_stats, pool)

    if constant_backward:
      normalize = with_constant_backward(normalize)
    # A tensor, not a variable (as under a tf.distribute strategy): custom gradients take tensors.
    return normalize(x, tf.convert_to_tensor(weights["offset"]))

  def call(self, x):
    return self.apply(noise_lib.own_weights(self), x, 1)


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


def _shape(t):
  """t's shape as Python ints where known: XLA needs shapes it can fold (in a loop's gradient,
  tf.shape's value comes from the loop and is not)."""
  return t.shape.as_list() if t.shape.is_fully_defined() else tf.shape(t)


def _sum_per_sample(t):
  """t [S, B, H, W, C] summed over B, H, W -> [S, 1, 1, 1, C], as a matrix product: three times
  faster than tf.reduce_sum over the middle axes on CPU."""
  shape = _shape(t)
  flat = tf.reshape(t, [shape[0], -1, t.shape[-1]])
  ones = tf.ones(tf.stack([shape[0], 1, tf.reduce_prod(shape[1:4])]), t.dtype)
  return tf.reshape(tf.matmul(ones, flat), [-1, 1, 1, 1, t.shape[-1]])


def _count_per_sample(t):
  """How many values of t [S, B, H, W, C] each per-sample, per-channel moment averages."""
  return tf.cast(tf.reduce_prod(_shape(t)[1:4]), t.dtype)


def _mean_per_sample(t):
  return _sum_per_sample(t) / _count_per_sample(t)


def _max_pool(x):
  return tf.nn.max_pool2d(x, 2, 2, "VALID")


def batch_normalize(x, offset, num_samples, num_stats=None, pool=False):
  """(x - mean) / sqrt(variance + eps) + offset, x [S*B, H, W, C] sample-major, moments per sample.

  pool: normalize the 2x2 max pool of x instead, with x's moments. Both are
  monotone per channel, so this equals pooling the normalized x, and
  normalizes a quarter of the values.

  Its gradient is written in closed form (a third of the ops autodiff makes of
  the moments, which were a third of a meta-iteration's time), and the
  backward pass recomputes the moments from x so that an outer tape
  differentiates it exactly: the second-order meta-gradient stays exact.
  """
  def grouped(t):
    return tf.reshape(t, [num_samples, -1, *t.shape[1:]])

  def centered_inputs(x):
    """(centered x, scale, the values normalized (x or its pool), those values centered)."""
    mean, centered, scale = _moments(grouped(x), num_stats)
    if not pool:
      return centered, scale, x, centered
    pooled = _max_pool(x)
    return centered, scale, pooled, grouped(pooled) - mean

  @tf.custom_gradient
  def normalize(x, offset):
    _, scale, _, inputs = centered_inputs(x)
    normalized = tf.reshape(inputs * scale + offset, [-1, *inputs.shape[2:]])

    def backward(dy):
      centered, scale, outputs, inputs = centered_inputs(x)  # recomputed: see the docstring
      dy = grouped(dy)
      dy_sum = _sum_per_sample(dy)
      d_mean = -scale * dy_sum
      d_variance = -0.5 * scale ** 3 * _sum_per_sample(dy * inputs)
      stats = centered if num_stats is None else centered[:, :num_stats]
      through_stats = (d_mean + 2.0 * d_variance * stats) / _count_per_sample(stats)
      if num_stats is not None:
        rest = _shape(centered)[1] - num_stats
        through_stats = tf.pad(through_stats, [[0, 0], [0, rest], [0, 0], [0, 0], [0, 0]])
      direct = tf.reshape(dy * scale, _shape(outputs))
      if pool:
        direct = tf.raw_ops.MaxPoolGrad(orig_input=x, orig_output=outputs, grad=direct,
                                        ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
      d_x = direct + tf.reshape(through_stats, _shape(x))
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


class Conv4(keras.Model):
  """MAML's conv4 with a noise generator per layer (Fig. 2 of the paper)."""

  def __init__(self, config, seed=0, dtype="float32", **kwargs):
    """`seed` fixes the initial weights (each variable gets its own seed from it)."""
    super().__init__(dtype=dtype, **kwargs)
    self.config = config
    self.perturbation = noise_lib.build(config)
    self.convs = [noise_lib.NoisyConv2D(config.num_filters, config.noise, seed=seed * 100 + 10 * i,
                                        perturbation=self.perturbation, name=f"conv{i + 1}",
                                        dtype=dtype)
                  for i in range(NUM_BLOCKS)]
    self.norms = [BatchNorm(name=f"bn{i + 1}", dtype=dtype) for i in range(NUM_BLOCKS)]
    self.stochastic = self.perturbation.stochastic
    self.head = noise_lib.NoisyDense(config.num_ways,
                                     config.logit_noise and self.perturbation.logit_noise,
                                     seed=seed * 100 + 10 * NUM_BLOCKS, name="head", dtype=dtype)
    self.build((None, *config.image_shape))

  def build(self, input_shape):
    size, channels = input_shape[1], input_shape[-1]
    for conv, norm in zip(self.convs, self.norms):
      conv.build((None, size, size, channels))
      channels = self.config.num_filters
      norm.build((None, size, size, channels))
      size //= 2
    self.head.build((None, size * size * channels))

  @property
  def blocks(self):
    return [*self.convs, *self.norms, self.head]

  def named_variables(self, roles=("theta", "phi", "outer")):
    """{"conv1/kernel": keras.Variable, ...} of the given roles, in a fixed order."""
    return {f"{layer.name}/{name}": getattr(layer, name)
            for role in roles for layer in self.blocks
            for name in getattr(layer, f"{role}_names", ())}

  def _group(self, role):
    return {name: v.value for name, v in self.named_variables((role,)).items()}

  @property
  def theta(self):
    """Inner-loop weights: {"conv1/kernel": tf.Variable, ...}."""
    return self._group("theta")

  @property
  def phi(self):
    """Noise-generator weights (empty for plain MAML)."""
    return self._group("phi")

  @property
  def outer(self):
    """Meta-learned-only weights other than phi (batch-norm offsets)."""
    return self._group("outer")

  @property
  def params(self):
    """Every meta-learned weight, {name: tf.Variable}."""
    return {**self.theta, **self.phi, **self.outer}

  def forward(self, params, images, sample, seed, num_stats=None, constant_bn_backward=False):
    """The network as a pure function of `params` ({name: tensor}).

    Args:
      params: every weight by name, as in `self.params` (fast weights allowed).
      images: [S, B, H, W, C]: S Monte Carlo samples of the same or other images;
        batch-norm moments are per sample.
      sample: draw noise (support set) or use its deterministic value (query).
      seed: [2] int stateless seed; every layer folds in its own index.
      num_stats: batch-norm moments from the first `num_stats` of the B images
        (None: all, transductive).
      constant_bn_backward: batch norm's backward pass held constant under a
        further derivative (the authors' TF 1.12 meta-gradient, see
        `with_constant_backward`).
    Returns:
      logits [S, B, num_ways].
    """
    return self.forward_terms(params, images, sample, seed, None, num_stats,
                              constant_bn_backward)[0]

  def forward_terms(self, params, images, sample, seed, targets=None, num_stats=None,
                    constant_bn_backward=False, record=None):
    """`forward` with what the inner loss needs from the perturbation.

    targets: [S, B, N] class probabilities of the images, mixed along with them by a mixing
      perturbation on the support pass (sample and targets given).
    record: a dict that, if given, receives the activations for figures and summaries:
      "block1".."block4" [S*B, H, W, C] after batch norm and ReLU, "features" [S*B, F] (the
      head's input, the last latent features).
    Returns:
      (logits [S, B, N], targets, the perturbation's loss term [S, B] or None).
    """
    num_samples = _shape(images)[0]
    x = tf.reshape(images, [-1, *images.shape[2:]])
    seed = tf.convert_to_tensor(seed, tf.int64)
    penalty = None
    for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
      if sample and targets is not None:
        x, targets = self.perturbation.mix(x, targets, index, num_samples,
                                           rng.fold_in(seed, NUM_BLOCKS + 1))
      layer_seed = rng.fold_in(seed, index)
      x, layer_penalty = conv.apply_terms(_weights_of(conv, params), x, sample, layer_seed)
      if layer_penalty is not None:
        penalty = layer_penalty if penalty is None else penalty + layer_penalty
      # Pooled first (see batch_normalize): the same values, faster; figures (`record`) need
      # the full-resolution activations.
      pool = record is None
      x = tf.nn.relu(norm.apply(_weights_of(norm, params), x, num_samples, num_stats,
                                constant_bn_backward, pool))
      if not pool:
        record[f"block{index + 1}"] = x
        x = _max_pool(x)
    x = tf.reshape(x, [_shape(x)[0], -1])
    if record is not None:
      record["features"] = x
    head_seed = rng.fold_in(seed, NUM_BLOCKS)
    logits = self.head.apply(_weights_of(self.head, params), x, sample, head_seed)
    logits = tf.reshape(logits, [num_samples, -1, self.config.num_ways])
    if penalty is not None:
      penalty = tf.reshape(penalty, [num_samples, -1])
    return logits, targets, penalty

  def call(self, images, sample=False, seed=(0, 0)):
    """images [B, H, W, C] -> logits [B, num_ways], with this model's own weights."""
    return self.forward(self.params, images[None], sample, seed)[0]


def _weights_of(layer, params):
  names = layer.theta_names + layer.phi_names + getattr(layer, "outer_names", ())
  return {name: params[f"{layer.name}/{name}"] for name in names}
