"""Meta-SGD (Li et al., 2017): MAML with one meta-learned step size per theta element."""
import keras
import tensorflow as tf

from metadropout_tf.algorithms.maml import MAML


class MetaSGD(MAML):
  """The step size of theta weight "conv1/kernel" is the variable "conv1/kernel/inner_lr" (its
  name in checkpoints and SavedModels), initialised to inner_lr."""

  def __init__(self, model, meta_config):
    super().__init__(model, meta_config)
    self.step_size_names = {name: f"{name}/inner_lr" for name in self.adapted}

  def create_variables(self):
    theta = self.model.theta
    return {rate: keras.Variable(tf.fill(theta[name].shape, self.meta_config.inner_lr),
                                 name=rate.replace("/", "_"))
            for name, rate in self.step_size_names.items()}

  def step_sizes(self, params):
    return {name: params[rate] for name, rate in self.step_size_names.items()}
