"""Typed configuration, saved as JSON next to the checkpoints.

Library code takes these dataclasses; only the CLIs read flags.
"""
import dataclasses
import enum
import math
import os

from metadropout_tf import files
from metadropout_tf.errors import ConfigError

BATCH_NORM_MODES = ("transductive", "support")


class MetaGradient(enum.Enum):
  """Which second-order terms the meta-gradient keeps (the fast weights are the same for all)."""
  EXACT = "exact"  # the paper's Eq. 3-4, differentiated exactly through the inner loop
  # What the authors' TF 1.12 code computed: batch norm's backward pass held constant under the
  # outer derivative (see layers.with_constant_backward); Table 1 was trained with it.
  AUTHORS_TF1 = "authors_tf1"
  FIRST_ORDER = "first_order"  # the inner-loop gradients held constant (not the paper's method)


META_GRADIENTS = tuple(mode.value for mode in MetaGradient)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The conv4 network and its noise.

  Attributes:
    image_size: height = width of the input images (28 Omniglot, 84 miniImageNet).
    image_channels: 1 (Omniglot) or 3 (miniImageNet).
    num_filters: channels of every conv layer (64 Omniglot, 32 miniImageNet).
    num_ways: classes per task = width of the classifier head.
    noise: the perturbation of every conv layer, a key of `perturbations.PERTURBATIONS`
      (checked there): "multiplicative" is meta-dropout, "none" plain MAML / Meta-SGD.
    batch_norm: "transductive" (kept from the original and MAML: every forward
      pass is normalised with its own batch's moments, so query predictions
      depend on the other queries) or "support" (inductive: the query pass is
      normalised with the moments of the support set under the adapted weights).
    logit_noise: kept from the original code: when sampling, the head adds
      N(0, softplus(h @ w + b)^2) to the logits, with one learned column w shared
      by all classes. Only with meta-dropout's noises (not "none", "deterministic" or
      Table 2's baselines).
    noise_scale: lambda of the "additive" noise (0.1, the authors' slides).
    weight_noise_rho: initial rho of "weight_gaussian" (softplus(-6.2) = 0.002).
    kl_weight: beta, the KL's weight in the inner loss of "vib" and "information_dropout".
    mixup_gamma: gamma of "mixup", lambda ~ Beta(gamma, gamma).
  """
  image_size: int = 28
  image_channels: int = 1
  num_filters: int = 64
  num_ways: int = 20
  noise: str = "multiplicative"
  batch_norm: str = "transductive"
  logit_noise: bool = True
  noise_scale: float = 0.1
  weight_noise_rho: float = -6.2
  kl_weight: float = 1e-4
  mixup_gamma: float = 1.0

  def __post_init__(self):
    _require_positive(self, "image_size", "image_channels", "num_filters", "num_ways",
                      "noise_scale", "kl_weight", "mixup_gamma")
    if not math.isfinite(self.weight_noise_rho):
      raise ConfigError(f"weight_noise_rho must be a finite number, got {self.weight_noise_rho}")
    if self.batch_norm not in BATCH_NORM_MODES:
      raise ConfigError(f"unknown batch_norm {self.batch_norm!r}: choose one of {BATCH_NORM_MODES}")

  @property
  def image_shape(self):
    return (self.image_size, self.image_size, self.image_channels)


@dataclasses.dataclass(frozen=True)
class MetaConfig:
  """The inner loop (adaptation) and the outer (meta) update.

  Attributes:
    inner_lr: SGD step size alpha of the inner loop.
    num_inner_steps: inner SGD steps, the same at meta-train and meta-test.
    num_mc_samples: S, noise samples averaged in the inner loss while meta-training.
    num_test_mc_samples: S at meta-test (the paper uses 30).
    meta_lr: Adam step size of the meta update.
    grad_clip: every meta-gradient is clipped elementwise to [-grad_clip, grad_clip].
    meta_gradient: one of META_GRADIENTS. "exact" differentiates the unrolled
      inner loop exactly; "authors_tf1" drops the second-order terms that pass
      through batch norm's backward pass, as the authors' TF 1.12 code silently
      did; "first_order" drops every second-order term (phi then learns only
      through the query pass, Eq. 4).
    algorithm: a key of `algorithms.ALGORITHMS` (checked there), which weights adapt and with
      which step sizes: "maml", "meta_sgd" (one meta-learned step size per theta element,
      initialised to inner_lr) or "anil" (only the head adapts).
  """
  inner_lr: float = 0.1
  num_inner_steps: int = 5
  num_mc_samples: int = 1
  num_test_mc_samples: int = 30
  meta_lr: float = 1e-3
  grad_clip: float = 3.0
  meta_gradient: str = "exact"
  algorithm: str = "maml"

  def __post_init__(self):
    _require_positive(self, "inner_lr", "num_inner_steps", "num_mc_samples",
                      "num_test_mc_samples", "meta_lr", "grad_clip")
    if self.meta_gradient not in META_GRADIENTS:
      raise ConfigError(f"unknown meta_gradient {self.meta_gradient!r}: choose one of "
                        f"{META_GRADIENTS}")

  @property
  def meta_gradient_mode(self):
    return MetaGradient(self.meta_gradient)


@dataclasses.dataclass(frozen=True)
class EpisodeConfig:
  """The shape of an N-way K-shot Q-query task and of a meta-batch."""
  num_ways: int = 20
  num_shots: int = 1
  num_queries: int = 15
  meta_batch_size: int = 8

  def __post_init__(self):
    _require_positive(self, "num_ways", "num_shots", "num_queries", "meta_batch_size")


def _require_positive(config, *names):
  """Each named field must be a finite number above zero (inf and nan are refused too)."""
  for name in names:
    value = getattr(config, name)
    if not (value > 0 and math.isfinite(value)):
      kind = "finite number" if isinstance(value, float) else "integer"
      raise ConfigError(f"{name} must be a positive {kind}, got {value}")


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """Every setting that defines a training run, saved whole as `config.json` in its directory.

  A run directory is resumed only with the same RunConfig; how long and how
  often to log or save (`training.Schedule`) may change between resumes.

  Attributes:
    dataset: benchmark name, a key of `datasets.DATASETS`.
    data_fingerprint: identity of the data files read (split lists, archive names and sizes),
      so that a resume against other data is refused; moving the same files is fine.
    train_split / eval_split: meta-train classes / classes of the periodic held-out accuracy.
    seed: the one seed every random stream derives from (`rng.Streams`).
    strategy: the tf.distribute strategy, "default" (one device), "mirrored" (local GPUs or logical CPUs) or
      "multi_worker" (hosts named by TF_CONFIG).
  """
  model: ModelConfig = ModelConfig()
  meta: MetaConfig = MetaConfig()
  episodes: EpisodeConfig = EpisodeConfig()
  dataset: str = "omniglot"
  data_fingerprint: str = ""
  train_split: str = "trainval"
  eval_split: str = "test"
  seed: int = 0
  strategy: str = "default"

  def __post_init__(self):
    if self.strategy not in DISTRIBUTE_STRATEGIES:
      raise ConfigError(f"unknown strategy {self.strategy!r}: choose one of {DISTRIBUTE_STRATEGIES}")
    if self.model.num_ways != self.episodes.num_ways:
      raise ConfigError(f"the head has {self.model.num_ways} classes but tasks have "
                        f"{self.episodes.num_ways}: they must be equal")

  def to_dict(self):
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values):
    """The inverse of `to_dict`; a field it lacks or does not know is a ConfigError.

    Configs of earlier versions, with `meta.meta_sgd` (true/false) instead of
    `meta.algorithm`, read as the same run.
    """
    nested = {"model": ModelConfig, "meta": MetaConfig, "episodes": EpisodeConfig}
    meta = values.get("meta")
    if isinstance(meta, dict) and "meta_sgd" in meta and "algorithm" not in meta:
      meta = dict(meta)
      meta["algorithm"] = "meta_sgd" if meta.pop("meta_sgd") else "maml"
      values = {**values, "meta": meta}
    try:
      return cls(**{k: nested[k](**v) if k in nested else v for k, v in values.items()})
    except TypeError as error:
      raise ConfigError(f"not a config of this version ({error})") from None

  def differences(self, other):
    """Dotted names of the settings that differ from `other`'s, e.g. ["meta.inner_lr", "seed"]."""
    mine, theirs = _flatten(self.to_dict()), _flatten(other.to_dict())
    return sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))


DISTRIBUTE_STRATEGIES = ("default", "mirrored", "multi_worker")


def _flatten(values, prefix=""):
  flat = {}
  for key, value in values.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def save(path, run_config):
  """Writes the RunConfig as JSON, atomically."""
  files.write_json(path, run_config.to_dict())


def load(path):
  """Reads the RunConfig that `save` wrote; a missing or damaged file is a ConfigError."""
  if not os.path.exists(path):
    raise ConfigError(f"no config at {path}: is this a training run's --savedir?")
  try:
    values = files.read_json(path)
  except ValueError as error:
    raise ConfigError(f"{error}: restore it or use a new --savedir") from None
  return RunConfig.from_dict(values)
