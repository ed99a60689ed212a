"""The inner loop: the second-order meta-gradient, its truncations, the support loss falling,
the S passes of the meta-test."""
import numpy as np
import pytest
import tensorflow as tf

from helpers import (SEED, learner_for, meta_loss, query_only_phi_gradients, random_task,
                     tiny_model, assert_meta_gradient_matches_finite_differences)
from metadropout_tf import algorithms
from metadropout_tf import config as config_lib
from metadropout_tf import episodes
from metadropout_tf import inner_loop
from metadropout_tf import network
from metadropout_tf import rng
from metadropout_tf.config import MetaGradient


def every_theta(model, inner_lr=0.1):
  return {name: inner_lr for name in model.theta}


@pytest.mark.parametrize("batch_norm", ["transductive", "support"])
def test_meta_gradient_of_phi_matches_finite_differences(batch_norm):
  assert_meta_gradient_matches_finite_differences(
      tiny_model(dtype="float64", batch_norm=batch_norm),
      ["conv2/noise_kernel", "conv1/noise_bias", "conv3/kernel", "head/noise_kernel"])


def test_phi_learns_through_the_inner_loop_only_with_second_order():
  """phi's noise acts in the inner loop: first order cuts that path.

  The logit-noise column is used only when sampling, so its first-order
  gradient is exactly zero. The conv generators also shape the query pass
  (z = softplus(mu), Eq. 4), so under first order their gradient is exactly
  the query-only term (fast weights held fixed); second order adds the
  inner-loop term on top.
  """
  task = random_task()
  grads = {}
  for first_order in (False, True):
    model = tiny_model()
    learner = learner_for(model, "first_order" if first_order else "exact")
    _, _, values = learner.task_gradients(episodes.Episode(*task), SEED)
    grads[first_order] = dict(zip(learner.variables_by_name, values))
  query_only = query_only_phi_gradients(model, task)
  for name in model.phi:
    if name.startswith("head/"):
      assert float(tf.norm(grads[True][name])) == 0
      assert float(tf.norm(grads[False][name])) > 0
    else:
      # Two float32 paths (a traced function, eager ops): equal to rounding at the gradient's scale.
      scale = np.abs(query_only[name].numpy()).max()
      np.testing.assert_allclose(grads[True][name].numpy(), query_only[name].numpy(),
                                 rtol=1e-4, atol=1e-5 * scale)
      assert not np.allclose(grads[False][name].numpy(), query_only[name].numpy(), rtol=1e-2)


@pytest.mark.parametrize("noise, passes", [("none", 1), ("deterministic", 1), ("multiplicative", 5)])
def test_meta_test_runs_one_pass_only_where_every_draw_is_the_same(noise, passes, monkeypatch):
  """adapt_for_test runs S = 5 support passes per inner step for a stochastic model, one for the
  noise-free ones (whose S draws would be the same pass)."""
  model = tiny_model(noise=noise)
  support_x, support_y, _, _ = random_task()
  algorithm = algorithms.build(model, config_lib.MetaConfig(inner_lr=0.5, num_inner_steps=2))
  samples_per_pass = []
  forward_terms = model.forward_terms

  def counting(params, images, sample, *args, **kwargs):
    if sample:
      samples_per_pass.append(images.shape[0])
    return forward_terms(params, images, sample, *args, **kwargs)

  monkeypatch.setattr(model, "forward_terms", counting)
  algorithm.adapt_for_test(model.params, support_x, support_y, SEED, 5)
  assert samples_per_pass == [passes, passes]  # one support pass per inner step


def test_adapt_takes_a_meta_gradient_mode_not_a_string_or_a_bool():
  model = tiny_model()
  support_x, support_y, _, _ = random_task()
  for wrong in ("exact", True):
    with pytest.raises(TypeError, match="must be a config.MetaGradient"):
      inner_loop.adapt(model, model.params, support_x, support_y, every_theta(model), 1, 1, SEED,
                       wrong)


def test_adapt_steps_only_the_weights_it_is_given_with_their_step_sizes():
  model = tiny_model()
  support_x, support_y, _, _ = random_task()
  params = model.params
  plain = inner_loop.adapt(model, params, support_x, support_y, every_theta(model), 1, 1, SEED)
  only_head = inner_loop.adapt(model, params, support_x, support_y,
                               {"head/kernel": 0.1, "head/bias": tf.constant([0.2, 0.0, 0.1])},
                               1, 1, SEED)
  for name in params:
    if name not in ("head/kernel", "head/bias"):
      np.testing.assert_array_equal(only_head[name].numpy(), params[name].numpy())
  # The head's gradient does not depend on the other weights' steps: the same step, rescaled.
  np.testing.assert_allclose(only_head["head/kernel"].numpy(), plain["head/kernel"].numpy(),
                             rtol=1e-6)
  gradient = (params["head/bias"] - plain["head/bias"]).numpy() / 0.1
  np.testing.assert_allclose((params["head/bias"] - only_head["head/bias"]).numpy(),
                             gradient * [0.2, 0.0, 0.1], rtol=1e-5, atol=1e-7)


def test_inner_steps_lower_the_support_loss(omniglot_test):
  cfg = config_lib.EpisodeConfig(5, 1, 15, 1)
  task = episodes.sample_episode(tf.constant(omniglot_test[0][:100]), cfg, SEED)
  model = network.Conv4(config_lib.ModelConfig(num_ways=5, num_filters=16))
  params = model.params

  def support_loss_after(num_steps):  # the same noise draws before and after adapting
    fast = inner_loop.adapt(model, params, task.support_images, task.support_labels,
                            every_theta(model), num_steps, 4, SEED)
    return float(inner_loop.inner_loss(model, fast, task.support_images, task.support_labels,
                                         4, SEED))

  before = support_loss_after(0)
  one, five = support_loss_after(1), support_loss_after(5)
  assert five < one < before
  assert five < before - 0.05


def adapt_as_tf1_did(model, params, support_x, support_y, inner_lr, num_steps, num_samples, seed,
                     meta_gradient):
  """The authors' TF 1.12 inner loop, written without a custom gradient.

  Each step takes d(loss)/d(batch-norm input) of every layer once, as constants
  (the output of FusedBatchNormGrad, which had no gradient there), and rebuilds
  each conv's inner gradient from them through that layer alone: through its
  input and its noise, as in their graph. The head's gradient is the usual one.
  """
  assert meta_gradient is MetaGradient.AUTHORS_TF1
  fast = dict(params)
  images = tf.tile(support_x[None], [num_samples, 1, 1, 1, 1])
  for step in range(num_steps):
    step_seed = rng.fold_in(seed, step)
    head_names = [n for n in model.theta if n.startswith("head/")]
    with tf.GradientTape(persistent=True) as tape:
      tape.watch([fast[n] for n in head_names])
      x = tf.reshape(images, [-1, *images.shape[2:]])
      layer_inputs, bn_inputs = [], []
      for index, (conv, norm) in enumerate(zip(model.convs, model.norms)):
        layer_inputs.append(x)
        f = conv.apply(conv.weights_from(fast), x, True, rng.fold_in(step_seed, index))
        tape.watch(f)
        bn_inputs.append(f)
        x = norm.apply(norm.weights_from(fast), f, num_samples)
        x = tf.nn.max_pool2d(tf.nn.relu(x), 2, 2, "VALID")
      x = tf.reshape(x, [tf.shape(x)[0], -1])
      logits = model.head.apply(model.head.weights_from(fast), x, True,
                                rng.fold_in(step_seed, network.NUM_BLOCKS))
      loss = inner_loop.cross_entropy(tf.reshape(logits, [num_samples, -1, model.config.num_ways]),
                                        support_y[None])
    grads = dict(zip(head_names, tape.gradient(loss, [fast[n] for n in head_names])))
    constants = [tf.stop_gradient(g) for g in tape.gradient(loss, bn_inputs)]
    for index, conv in enumerate(model.convs):
      names = [f"{conv.name}/{n}" for n in conv.theta_names]
      with tf.GradientTape() as layer_tape:
        layer_tape.watch([fast[n] for n in names])
        f = conv.apply(conv.weights_from(fast), layer_inputs[index], True,
                       rng.fold_in(step_seed, index))
        surrogate = tf.reduce_sum(constants[index] * f)
      grads.update(zip(names, layer_tape.gradient(surrogate, [fast[n] for n in names])))
    fast.update({n: fast[n] - inner_lr * grads[n] for n in model.theta})
  return fast


@pytest.mark.parametrize("noise", ["multiplicative", "none", "weight_gaussian"])
def test_authors_tf1_meta_gradient_matches_a_reference_built_another_way(noise):
  model = tiny_model(noise, dtype="float64")
  task = random_task(dtype=tf.float64)
  params = {k: tf.convert_to_tensor(v) for k, v in model.params.items()}
  gradients = {}
  for name, adapt in (("authors_tf1", None), ("reference", adapt_as_tf1_did), ("exact", None)):
    with tf.GradientTape() as tape:
      tape.watch(list(params.values()))
      loss = meta_loss(model, params, task, MetaGradient.EXACT if name == "exact" else
                       MetaGradient.AUTHORS_TF1, adapt=adapt)
    gradients[name] = dict(zip(params, tape.gradient(loss, list(params.values()))))
  for name in params:
    np.testing.assert_allclose(gradients["authors_tf1"][name].numpy(),
                               gradients["reference"][name].numpy(), rtol=1e-8, atol=1e-13,
                               err_msg=name)
  flat = {k: np.concatenate([g.numpy().ravel() for g in v.values()]) for k, v in gradients.items()}
  cosine = flat["exact"] @ flat["authors_tf1"] / np.linalg.norm(flat["exact"]) / np.linalg.norm(
      flat["authors_tf1"])
  assert cosine < 0.999  # the truncation changes the meta-gradient ...
  for name in model.phi:  # ... and phi still learns through what is left of the inner loop
    assert float(tf.norm(gradients["authors_tf1"][name])) > 0, name


@pytest.mark.parametrize("batch_norm", ["transductive", "support"])
def test_authors_tf1_changes_only_the_outer_gradient(batch_norm):
  """Inner losses, fast weights and the query loss are exact's; only the derivative differs."""
  model = tiny_model(batch_norm=batch_norm)
  support_x, support_y, query_x, query_y = task = random_task()
  fast = {}
  for meta_gradient in ("exact", "authors_tf1"):
    fast[meta_gradient] = inner_loop.adapt(model, model.params, support_x, support_y,
                                           every_theta(model), 3, 2, SEED,
                                           MetaGradient(meta_gradient))
  for name in model.params:
    np.testing.assert_array_equal(fast["exact"][name].numpy(), fast["authors_tf1"][name].numpy())
  grads = {}
  for meta_gradient in ("exact", "authors_tf1"):
    learner = learner_for(model, meta_gradient)
    loss, _, values = learner.task_gradients(episodes.Episode(*task), SEED)
    grads[meta_gradient] = (float(loss), dict(zip(learner.variables_by_name, values)))
  assert grads["exact"][0] == grads["authors_tf1"][0]
  query_only = query_only_phi_gradients(model, task)
  for name in model.phi:  # the second-order path of phi is shortened, not cut
    authors = grads["authors_tf1"][1][name].numpy()
    assert not np.allclose(authors, grads["exact"][1][name].numpy(), rtol=1e-3), name
    if not name.startswith("head/"):
      assert not np.allclose(authors, query_only[name].numpy(), rtol=1e-3), name
