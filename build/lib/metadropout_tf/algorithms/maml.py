"""MAML (Finn et al., 2017): every theta weight adapts, all with the one step size inner_lr."""
from metadropout_tf import inner_loop
from metadropout_tf.config import MetaGradient


class MAML:
  """The base of the algorithms: subclasses change `adapted` or `step_sizes`."""

  def __init__(self, model, meta_config):
    self.model = model
    self.meta_config = meta_config

  @property
  def adapted(self):
    """Names of the weights the inner loop adapts, in a fixed order."""
    return tuple(self.model.theta)

  def create_variables(self):
    """{name: keras.Variable} meta-learned by the algorithm itself, beside the model's; created
    once, in the learner's `tf.distribute` scope."""
    return {}

  def step_sizes(self, params):
    """{adapted weight's name: its inner step size, a scalar or a tensor of its shape}."""
    del params
    return {name: self.meta_config.inner_lr for name in self.adapted}

  def adapt(self, params, support_images, support_labels, seed, num_samples,
            meta_gradient=MetaGradient.EXACT):
    """params with the adapted weights replaced by their fast weights (`inner_loop.adapt`)."""
    return inner_loop.adapt(self.model, params, support_images, support_labels,
                            self.step_sizes(params), self.meta_config.num_inner_steps,
                            num_samples, seed, meta_gradient)

  def adapt_for_test(self, params, support_images, support_labels, seed, num_samples):
    """Algorithm 2's inner loop: no outer derivative is taken, so the first-order graph.

    Without stochastic noise every one of the S draws is the same pass, so one is run.
    """
    if not self.model.stochastic:
      num_samples = 1
    return self.adapt(params, support_images, support_labels, seed, num_samples,
                      MetaGradient.FIRST_ORDER)
