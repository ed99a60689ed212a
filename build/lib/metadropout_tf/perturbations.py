"""The paper's perturbations as one family, and their registry (`PERTURBATIONS`, `build`).

A perturbation (meta-dropout's multiplicative noise, the additive one, the Table 3 ablations,
Table 2's baselines, or none) declares its phi variables and may
  - perturb the pre-activation f^(l) given the layer's input h^(l-1) (Fig. 2; `perturb`),
  - add a term to the inner loss (the KL of the information bottlenecks; `penalty`),
  - mix examples and their targets before a block (mixup; `mix`).
`sample=True` is the support pass (random, reparameterised), `sample=False` the query pass (the
noise replaced by its deterministic counterpart, Eq. 4). Noise is applied to the conv output
before batch norm, as in the authors' code. Hyperparameters (`HYPERPARAMETERS`) come from the
`ModelConfig` fields of the same names.
"""
import keras
import tensorflow as tf

from metadropout_tf import errors
from metadropout_tf import rng
from metadropout_tf.initializers import conv_init


class Perturbation:
  """No perturbation: h = ReLU(f), plain MAML / Meta-SGD.

  A perturbation declares its phi variables and how they perturb the pre-activation
  f = conv(x, theta) of a layer with input x = h^(l-1).
  """
  stochastic = False  # whether the support pass draws noise (S samples at meta-test)
  logit_noise = False  # whether the original head's logit noise comes with it
  HYPERPARAMETERS = ()  # names of ModelConfig fields the constructor takes

  def variables(self, kernel_shape, seed):
    """phi's variables of one layer: {name: (shape, initializer)}.

    kernel_shape: theta's kernel, [3, 3, C_in, C_out]; seed: for the initializers.
    """
    del kernel_shape, seed
    return {}

  def perturb(self, f, x, weights, sample, seed):
    """The perturbed pre-activation.

    Args:
      f: pre-activation conv(x, theta), [B, H, W, C_out].
      x: the layer's input h^(l-1), [B, H, W, C_in].
      weights: the layer's weights by short name (theta and phi).
      sample: draw noise (support set) or use its deterministic value (query).
      seed: [2] int64 stateless seed.
    """
    del x, weights, sample, seed
    return f

  def penalty(self, f, x, weights):
    """A term of the inner loss per example, [B], computed on the support pass; None: none."""
    del f, x, weights
    return None

  def mix(self, h, targets, block, num_samples, seed):
    """(h, targets) entering conv block `block` (0 = the images) on the support pass.

    h: [S*B, H, W, C], sample-major; targets: [S, B, N] class probabilities.
    """
    del block, num_samples, seed
    return h, targets


class InputDependent(Perturbation):
  """phi is a conv of theta's shape reading h^(l-1) (Fig. 2), `outputs` maps per unit."""
  outputs = 1

  def variables(self, kernel_shape, seed):
    *window, in_channels, out_channels = kernel_shape
    generated = out_channels * self.outputs
    return {"noise_kernel": ((*window, in_channels, generated), conv_init(seed)),
            "noise_bias": ((generated,), "zeros")}

  def generate(self, x, weights):
    # Two convs: one conv with theta's and phi's kernels, then slicing, was 35% slower on CPU.
    return tf.nn.bias_add(tf.nn.conv2d(x, weights["noise_kernel"], 1, "SAME"), weights["noise_bias"])


class Multiplicative(InputDependent):
  """Meta-dropout, Eq. 5-6: f * z, z = softplus(a), a ~ N(mu, I), mu = phi(h^(l-1)).

  Support: a = mu + eps (reparameterised); query: a = mu (Eq. 4).
  Subclasses change where mu and the scale of a come from (Table 3).
  """
  stochastic = logit_noise = True

  def location_scale(self, f, x, weights):
    """(mu, std) of a, each broadcastable to f."""
    del f
    return self.generate(x, weights), 1.0

  def perturb(self, f, x, weights, sample, seed):
    mu, std = self.location_scale(f, x, weights)
    if sample and self.stochastic:
      mu = mu + std * rng.normal(tf.shape(f), seed, f.dtype)
    return f * tf.nn.softplus(mu)


class Deterministic(Multiplicative):
  """Table 3 "deterministic meta-dropout": a = mu on support and query alike."""
  stochastic = logit_noise = False


class LearnedVariance(Multiplicative):
  """Table 3 "meta-dropout w/ learned variance": a ~ N(mu, sigma^2), sigma = softplus(phi_sigma(h))."""
  outputs = 2

  def location_scale(self, f, x, weights):
    mu, log_std = tf.split(self.generate(x, weights), 2, axis=-1)
    return mu, tf.nn.softplus(log_std)


class FixedGaussian(Multiplicative):
  """Table 3 "fixed Gaussian": a ~ N(0, I), no parameters (query: z = softplus(0))."""

  def variables(self, kernel_shape, seed):
    return {}

  def location_scale(self, f, x, weights):
    return tf.zeros([], f.dtype), 1.0


class IndependentGaussian(Multiplicative):
  """Table 3 "independent Gaussian": a ~ N(mu, I), mu a learned per-channel vector.

  Input-independent, like channel-wise dropout; mu starts at 0, as phi's output does.
  """

  def variables(self, kernel_shape, seed):
    return {"noise_mu": ((kernel_shape[-1],), "zeros")}

  def location_scale(self, f, x, weights):
    return weights["noise_mu"], 1.0


class Additive(InputDependent):
  """Table 2 "Add.": f + z, z ~ N(0, lambda^2 diag(sigma^2)), sigma = softplus(phi(h^(l-1))).

  lambda = `noise_scale`, 0.1 (the authors' slides). Query: z = 0, its mean.
  """
  stochastic = logit_noise = True
  HYPERPARAMETERS = ("noise_scale",)

  def __init__(self, noise_scale=0.1):
    self.scale = noise_scale

  def perturb(self, f, x, weights, sample, seed):
    if not sample:
      return f
    sigma = tf.nn.softplus(self.generate(x, weights))
    return f + self.scale * sigma * rng.normal(tf.shape(f), seed, f.dtype)


class WeightGaussian(Perturbation):
  """Table 3 "weight Gaussian": theta ~ N(theta, diag(softplus(rho)^2)), rho meta-learned.

  Drawn with the local reparameterisation (Kingma et al., 2015): the
  pre-activation of every example gets its own draw from the Gaussian that the
  weight noise induces, f + sqrt(conv(x^2, s_k^2) + s_b^2) * eps, so each Monte
  Carlo sample and example sees independent weights at the cost of one conv.
  Query: the mean weights. rho starts at `weight_noise_rho`, -6.2: softplus(rho) = 0.002, 10%
  of the kernel's init std.
  """
  stochastic = logit_noise = True
  HYPERPARAMETERS = ("weight_noise_rho",)

  def __init__(self, weight_noise_rho=-6.2):
    self.initial_rho = weight_noise_rho

  def variables(self, kernel_shape, seed):
    rho = keras.initializers.Constant(self.initial_rho)
    return {"kernel_rho": (kernel_shape, rho), "bias_rho": ((kernel_shape[-1],), rho)}

  def perturb(self, f, x, weights, sample, seed):
    if not sample:
      return f
    kernel_var = tf.square(tf.nn.softplus(weights["kernel_rho"]))
    bias_var = tf.square(tf.nn.softplus(weights["bias_rho"]))
    variance = tf.nn.conv2d(tf.square(x), kernel_var, 1, "SAME") + bias_var
    return f + tf.sqrt(variance) * rng.normal(tf.shape(f), seed, f.dtype)


class VariationalBottleneck(InputDependent):
  """Table 2 VIB (Alemi et al., 2017), additive: f + sigma * eps, sigma = softplus(phi(h)).

  The inner loss gains beta * KL(N(f, sigma^2) || N(0, I)) per example (summed over units).
  Query: f, the mean.
  """
  stochastic = True
  HYPERPARAMETERS = ("kl_weight",)

  def __init__(self, kl_weight=1e-4):
    self.beta = kl_weight

  def perturb(self, f, x, weights, sample, seed):
    if not sample:
      return f
    sigma = tf.nn.softplus(self.generate(x, weights))
    return f + sigma * rng.normal(tf.shape(f), seed, f.dtype)

  def penalty(self, f, x, weights):
    sigma = tf.nn.softplus(self.generate(x, weights))
    kl = 0.5 * (tf.square(f) + tf.square(sigma) - 1.0) - tf.math.log(sigma + 1e-8)
    return self.beta * tf.reduce_sum(kl, axis=[1, 2, 3])


class InformationDropout(InputDependent):
  """Table 2 information dropout (Achille & Soatto, 2018), ReLU version, multiplicative:
  f * exp(alpha * eps), alpha = 0.7 * sigmoid(phi(h)) + 0.001 (0.7 caps the noise, as in the
  paper; 0.001 keeps the log finite).

  The inner loss gains beta * KL per example, -log(alpha / 0.701) summed over units (the ReLU
  version's KL to its log-uniform prior, up to a constant). Query: f (the noise's median, 1).
  """
  stochastic = True
  HYPERPARAMETERS = ("kl_weight",)
  max_alpha = 0.7

  def __init__(self, kl_weight=1e-4):
    self.beta = kl_weight

  def alpha(self, x, weights):
    return self.max_alpha * tf.sigmoid(self.generate(x, weights)) + 1e-3

  def perturb(self, f, x, weights, sample, seed):
    if not sample:
      return f
    return f * tf.exp(self.alpha(x, weights) * rng.normal(tf.shape(f), seed, f.dtype))

  def penalty(self, f, x, weights):
    kl = -tf.math.log(self.alpha(x, weights) / (self.max_alpha + 1e-3))
    return self.beta * tf.reduce_sum(kl, axis=[1, 2, 3])


class Mixup(Perturbation):
  """Table 2 input & manifold mixup (Zhang et al., 2017; Verma et al., 2019).

  Per Monte Carlo sample of the support pass: a block k uniform in {0 (the images), 1, 2, 3},
  lambda ~ Beta(gamma, gamma) and a permutation of the support examples; the input of block k
  becomes lambda * h + (1 - lambda) * h[perm], and the targets the same mixture of one-hot
  labels. No parameters. Query: unmixed.
  """
  stochastic = True
  HYPERPARAMETERS = ("mixup_gamma",)
  num_blocks = 4

  def __init__(self, mixup_gamma=1.0):
    self.gamma = mixup_gamma

  def mix(self, h, targets, block, num_samples, seed):
    block_seed, lambda_seed, gamma_seed, order_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 4))
    chosen = tf.random.stateless_uniform([num_samples], block_seed, 0, self.num_blocks, tf.int32)
    g1 = tf.random.stateless_gamma([num_samples], lambda_seed, self.gamma, dtype=h.dtype)
    g2 = tf.random.stateless_gamma([num_samples], gamma_seed, self.gamma, dtype=h.dtype)
    lam = g1 / (g1 + g2)
    batch = tf.shape(targets)[1]
    order = tf.argsort(tf.random.stateless_uniform([num_samples, batch], order_seed), axis=1)
    grouped = tf.reshape(h, [num_samples, batch, *h.shape[1:]])
    apply = tf.equal(chosen, block)

    def mixture(x):
      weight = tf.reshape(lam, [-1] + [1] * (len(x.shape) - 1))
      mixed = weight * x + (1 - weight) * tf.gather(x, order, batch_dims=1)
      return tf.where(tf.reshape(apply, [-1] + [1] * (len(x.shape) - 1)), mixed, x)

    return tf.reshape(mixture(grouped), tf.shape(h)), mixture(targets)


PERTURBATIONS = {
    "none": Perturbation,
    "multiplicative": Multiplicative,
    "additive": Additive,
    "fixed_gaussian": FixedGaussian,
    "independent_gaussian": IndependentGaussian,
    "weight_gaussian": WeightGaussian,
    "deterministic": Deterministic,
    "learned_variance": LearnedVariance,
    "mixup": Mixup,
    "vib": VariationalBottleneck,
    "information_dropout": InformationDropout,
}


def build(config):
  """The perturbation a `ModelConfig` names (`noise`), with its hyperparameters."""
  if config.noise not in PERTURBATIONS:
    raise errors.ConfigError(f"unknown noise {config.noise!r}: choose one of "
                             f"{sorted(PERTURBATIONS)}")
  family = PERTURBATIONS[config.noise]
  return family(**{name: getattr(config, name) for name in family.HYPERPARAMETERS})
