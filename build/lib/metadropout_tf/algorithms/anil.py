"""ANIL (Raghu et al., ICLR 2020): only the head adapts in the inner loop.

The body's convs are meta-learned only: their features (perturbed by the noise on the support
pass, with meta-dropout) are what the head adapts on, and the meta-gradient reaches them through
the inner loop's head updates, second order as in MAML.
"""
from metadropout_tf.algorithms.maml import MAML


class ANIL(MAML):

  @property
  def adapted(self):
    return tuple(self.model.named_variables(("theta",), [self.model.head]))
