"""The meta-update: every meta-parameter gets a gradient, Adam moves them."""
import re

import numpy as np
import pytest
import tensorflow as tf

from helpers import SEED, learner_for, random_task, tiny_model
from metadropout_tf import episodes


def test_meta_update_moves_theta_phi_and_offsets():
  model = tiny_model()
  learner = learner_for(model, "exact")
  before = {k: v.numpy().copy() for k, v in model.params.items()}
  batch = tf.nest.map_structure(lambda x: tf.stack([x, x]), episodes.Episode(*random_task()))
  loss, acc, finite = learner.train_step(batch, 0)
  assert finite and np.isfinite(loss) and 0 <= acc <= 1
  moved = {k for k, v in model.params.items() if not np.array_equal(v.numpy(), before[k])}
  assert moved == set(model.params)
  assert int(learner.optimizer.iterations) == 1


PHI_OF = {  # each strategy's meta-learned-only variables per conv layer
    "none": set(), "fixed_gaussian": set(), "independent_gaussian": {"noise_mu"},
    "weight_gaussian": {"kernel_rho", "bias_rho"}, "multiplicative": {"noise_kernel", "noise_bias"},
    "additive": {"noise_kernel", "noise_bias"}, "deterministic": {"noise_kernel", "noise_bias"},
    "learned_variance": {"noise_kernel", "noise_bias"}}


MULTIPLICATIVE = {"multiplicative", "deterministic", "learned_variance", "fixed_gaussian",
                  "independent_gaussian"}


@pytest.mark.parametrize("algorithm", ["maml", "meta_sgd", "anil"])
@pytest.mark.parametrize("noise", sorted(PHI_OF))
def test_every_variant_gives_every_meta_parameter_a_gradient(noise, algorithm):
  model = tiny_model(noise)
  head_phi = {"noise_kernel", "noise_bias"} if noise not in ("none", "deterministic") else set()
  assert set(model.phi) == ({f"conv{i}/{n}" for i in range(1, 5) for n in PHI_OF[noise]} |
                            {f"head/{n}" for n in head_phi})
  learner = learner_for(model, "exact", algorithm=algorithm)
  own = set(learner.variables_by_name) - set(model.params)
  assert own == ({f"{n}/inner_lr" for n in model.theta} if algorithm == "meta_sgd" else set())
  _, _, values = learner.task_gradients(episodes.Episode(*random_task()), SEED)
  grads = dict(zip(learner.variables_by_name, values))
  assert set(grads) == set(model.params) | own
  # Batch norm cancels a conv bias unless the noise multiplies the pre-activation: its
  # meta-gradient is zero but for rounding, and may be exactly zero.
  cancelled = (set() if noise in MULTIPLICATIVE else
               {name for name in grads if re.fullmatch(r"conv\d/bias(/inner_lr)?", name)})
  without_gradient = [name for name, g in grads.items()
                      if float(tf.norm(g)) == 0 and name not in cancelled]
  assert without_gradient == []
  largest = max(float(tf.reduce_max(tf.abs(g))) for g in values)
  assert all(float(tf.reduce_max(tf.abs(grads[name]))) < 1e-4 * largest for name in cancelled)
