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

from metadropout_tf import layers
from metadropout_tf import perturbations
from metadropout_tf import rng

NUM_BLOCKS = 4


class Conv4(keras.Model):
  """MAML's conv4 with a noise generator per layer (Fig. 2 of the paper)."""

  def __init__(self, config, seed=0, dtype="float32", **kwargs):
    """`seed` fixes the initial weights (each variable gets its own seed from it)."""
    super().__init__(dtype=dtype, **kwargs)
    self.config = config
    self.perturbation = perturbations.build(config)
    self.convs = [layers.NoisyConv2D(config.num_filters, config.noise, seed=seed * 100 + 10 * i,
                                        perturbation=self.perturbation, name=f"conv{i + 1}",
                                        dtype=dtype)
                  for i in range(NUM_BLOCKS)]
    self.norms = [layers.BatchNorm(name=f"bn{i + 1}", dtype=dtype) for i in range(NUM_BLOCKS)]
    self.stochastic = self.perturbation.stochastic
    self.head = layers.NoisyDense(config.num_ways,
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

  def named_variables(self, roles=("theta", "phi", "outer"), blocks=None):
    """{"conv1/kernel": keras.Variable, ...} of the given roles (of `blocks`, default all), in a
    fixed order."""
    return {f"{layer.name}/{name}": getattr(layer, name)
            for role in roles for layer in (blocks or self.blocks)
            for name in getattr(layer, f"{role}_names")}

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

  def forward(self, params, images, sample, seed, num_stats=None,
              bn_backward=layers.Backward.DIFFERENTIABLE):
    """The network as a pure function of `params` ({name: tensor}).

    Args:
      params: every weight by name, as in `self.params` (fast weights allowed).
      images: [S, B, H, W, C]: S Monte Carlo samples of the same or other images;
        batch-norm moments are per sample.
      sample: draw noise (support set) or use its deterministic value (query).
      seed: [2] int stateless seed; every layer folds in its own index.
      num_stats: batch-norm moments from the first `num_stats` of the B images
        (None: all, transductive).
      bn_backward: a `layers.Backward`, what batch norm's backward pass must support (whether
        it is differentiated again, or held constant there as the authors' TF 1.12 code did).
    Returns:
      logits [S, B, num_ways].
    """
    return self.forward_terms(params, images, sample, seed, None, num_stats, bn_backward)[0]

  def forward_terms(self, params, images, sample, seed, targets=None, num_stats=None,
                    bn_backward=layers.Backward.DIFFERENTIABLE, record=None):
    """`forward` with what the inner loss needs from the perturbation.

    targets: [S, B, N] class probabilities of the images, mixed along with them by a mixing
      perturbation on the support pass (sample and targets given).
    record: a dict that, if given, receives the activations for figures and summaries:
      "block1".."block4" [S*B, H, W, C] after batch norm and ReLU, "features" [S*B, F] (the
      head's input, the last latent features).
    Returns:
      (logits [S, B, N], targets, the perturbation's loss term [S, B] or None).
    """
    num_samples = layers.static_shape(images)[0]
    x = tf.reshape(images, [-1, *images.shape[2:]])
    seed = tf.convert_to_tensor(seed, tf.int64)
    penalty = None
    for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
      if sample and targets is not None:
        x, targets = self.perturbation.mix(x, targets, index, num_samples,
                                           rng.fold_in(seed, NUM_BLOCKS + 1))
      layer_seed = rng.fold_in(seed, index)
      x, layer_penalty = conv.apply_terms(conv.weights_from(params), x, sample, layer_seed)
      if layer_penalty is not None:
        penalty = layer_penalty if penalty is None else penalty + layer_penalty
      # Pooled first (see batch_normalize): the same values, faster; figures (`record`) need
      # the full-resolution activations.
      pool = record is None
      x = tf.nn.relu(norm.apply(norm.weights_from(params), x, num_samples, num_stats,
                                bn_backward, pool))
      if not pool:
        record[f"block{index + 1}"] = x
        x = layers.max_pool(x)
    x = tf.reshape(x, [layers.static_shape(x)[0], -1])
    if record is not None:
      record["features"] = x
    head_seed = rng.fold_in(seed, NUM_BLOCKS)
    logits = self.head.apply(self.head.weights_from(params), x, sample, head_seed)
    logits = tf.reshape(logits, [num_samples, -1, self.config.num_ways])
    if penalty is not None:
      penalty = tf.reshape(penalty, [num_samples, -1])
    return logits, targets, penalty

  def call(self, images, sample=False, seed=(0, 0)):
    """images [B, H, W, C] -> logits [B, num_ways], with this model's own weights."""
    return self.forward(self.params, images[None], sample, seed)[0]

