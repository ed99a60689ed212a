"""The paper's noise as one family: Keras layers that take a noise strategy.

A strategy says how many channels of input-dependent output it needs from the
noise generator phi (a conv of the same shape as theta's, reading the layer's
input h^(l-1), Fig. 2) and how that output perturbs the pre-activation f^(l).
`sample=True` is the support pass (random, reparameterised), `sample=False`
the query pass (the noise replaced by its deterministic counterpart, Eq. 4).
"""
import keras
import tensorflow as tf

from metadropout_tf import rng



def conv_init(seed):
  """The original code's conv init; seeded, as Keras' global seed did not fix it."""
  return keras.initializers.TruncatedNormal(stddev=0.02, seed=seed)


def dense_init(seed):
  """The original code's dense init."""
  return keras.initializers.RandomNormal(stddev=0.02, seed=seed)


class NoiseStrategy:
  """No noise: h = ReLU(f), plain MAML / Meta-SGD."""
  generator_channels = 0  # phi outputs per unit of the layer

  def perturb(self, f, generated, sample, seed):
    """Returns the perturbed pre-activation.

    Args:
      f: pre-activation f^(l), [B, H, W, C].
      generated: phi's output for this layer, [B, H, W, C * generator_channels].
      sample: draw noise (support set) or use its deterministic value (query).
      seed: [2] int stateless seed.
    """
    del generated, sample, seed
    return f


class Multiplicative(NoiseStrategy):
  """Meta-dropout, Eq. 5-6: f * z, z = softplus(a), a ~ N(mu, I), mu = phi(h^(l-1)).

  Support: a = mu + eps (reparameterisation); query: a = mu.
  """
  generator_channels = 1

  def perturb(self, f, generated, sample, seed):
    a = generated + rng.normal(tf.shape(generated), seed, generated.dtype) if sample else generated
    return f * tf.nn.softplus(a)


STRATEGIES = {
    "none": NoiseStrategy(),
    "multiplicative": Multiplicative(),
}


class NoisyConv2D(keras.layers.Layer):
  """3x3 "same" conv (theta) with its noise generator conv (phi), Eq. 5-6.

  Runs with its own variables (`call`) or with given ones (`apply`), so the
  inner loop can pass fast weights as tensors.
  """
  theta_names = ("kernel", "bias")

  def __init__(self, filters, noise="multiplicative", seed=0, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.seed = seed
    self.noise = noise
    self.strategy = STRATEGIES[noise]

  @property
  def phi_names(self):
    return ("noise_kernel", "noise_bias") if self.strategy.generator_channels else ()

  def build(self, input_shape):
    in_channels = input_shape[-1]
    self.kernel = self.add_weight(name="kernel", shape=(3, 3, in_channels, self.filters),
                                  initializer=conv_init(self.seed))
    self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
    generated = self.filters * self.strategy.generator_channels
    if generated:
      self.noise_kernel = self.add_weight(name="noise_kernel",
                                          shape=(3, 3, in_channels, generated),
                                          initializer=conv_init(self.seed + 1))
      self.noise_bias = self.add_weight(name="noise_bias", shape=(generated,),
                                        initializer="zeros")

  def apply(self, weights, x, sample, seed):
    """The layer as a pure function of `weights` (short name -> tensor).

    x: [B, H, W, C_in] -> perturbed pre-activation [B, H, W, filters].
    """
    f = tf.nn.conv2d(x, weights["kernel"], 1, "SAME") + weights["bias"]
    generated = None
    if self.strategy.generator_channels:
      # Two convs: one conv with both kernels, then slicing, was 35% slower on CPU.
      generated = tf.nn.conv2d(x, weights["noise_kernel"], 1, "SAME") + weights["noise_bias"]
    return self.strategy.perturb(f, generated, sample, seed)

  def call(self, x, sample=False, seed=(0, 0)):
    return self.apply(own_weights(self), x, sample, seed)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "noise": self.noise,
            "seed": self.seed}


class NoisyDense(keras.layers.Layer):
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
    return self.apply(own_weights(self), x, sample, seed)

  def get_config(self):
    return {**super().get_config(), "units": self.units, "logit_noise": self.logit_noise,
            "seed": self.seed}


def own_weights(layer):
  """The layer's variables as {short name: tf.Variable}, for `apply`."""
  names = layer.theta_names + layer.phi_names + getattr(layer, "outer_names", ())
  return {name: getattr(layer, name).value for name in names}
