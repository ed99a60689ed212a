"""Meta-learning algorithms, one small module each, chosen by `MetaConfig.algorithm`.

An algorithm says which weights adapt in the inner loop and with which step sizes, and owns any
meta-learned variables of its own (Meta-SGD's step sizes); `inner_loop.adapt` does the rest.
"""
from metadropout_tf import errors
from metadropout_tf.algorithms.anil import ANIL
from metadropout_tf.algorithms.maml import MAML
from metadropout_tf.algorithms.meta_sgd import MetaSGD

ALGORITHMS = {"maml": MAML, "meta_sgd": MetaSGD, "anil": ANIL}


def build(model, meta_config):
  """The algorithm `meta_config.algorithm` names, for `model` (a `network.Conv4`)."""
  if meta_config.algorithm not in ALGORITHMS:
    raise errors.ConfigError(f"unknown algorithm {meta_config.algorithm!r}: choose one of "
                             f"{sorted(ALGORITHMS)}")
  return ALGORITHMS[meta_config.algorithm](model, meta_config)
