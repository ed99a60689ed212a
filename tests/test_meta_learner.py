"""The network with given weights and the second-order meta-gradient."""
import re

import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import episodes
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf import rng

SEED = tf.constant([7, 11], tf.int64)


def tiny_model(noise="multiplicative", dtype="float32", ways=3, size=16, batch_norm="transductive"):
  cfg = config_lib.ModelConfig(image_size=size, num_filters=3, num_ways=ways, noise=noise,
                               batch_norm=batch_norm)
  return network.Conv4(cfg, dtype=dtype)


def random_task(ways=3, shots=2, queries=2, size=16, dtype=tf.float32):
  rng = np.random.default_rng(0)
  images = lambda n: tf.constant(rng.uniform(size=(n, size, size, 1)), dtype)
  labels = lambda n: tf.constant(np.repeat(np.arange(ways), n), tf.int32)
  return images(ways * shots), labels(shots), images(ways * queries), labels(queries)


def meta_loss(model, params, task, meta_gradient="exact", steps=2, inner_lr=0.1, adapt=None):
  support_x, support_y, query_x, query_y = task
  fast = (adapt or meta_learner.adapt)(model, params, support_x, support_y, inner_lr, steps, 2,
                                       SEED, meta_gradient)
  return meta_learner.cross_entropy(
      meta_learner.query_logits(model, fast, support_x, query_x), query_y)


def assert_meta_gradient_matches_finite_differences(model, names, step=1e-6, per_name=3):
  """The exact meta-gradient (float64, 2 inner steps, S = 2) of a few entries of each named
  weight against central differences of the unrolled meta-loss."""
  task = random_task(dtype=tf.float64)
  params = {k: tf.convert_to_tensor(v) for k, v in model.params.items()}
  for name in names:
    with tf.GradientTape() as tape:
      tape.watch(params[name])
      loss = meta_loss(model, params, task)
    analytic = tape.gradient(loss, params[name]).numpy().ravel()
    for index in np.random.default_rng(1).choice(analytic.size, per_name, replace=False):
      delta = np.zeros(analytic.size)
      delta[index] = step
      delta = tf.constant(delta.reshape(params[name].shape))
      plus = meta_loss(model, {**params, name: params[name] + delta}, task)
      minus = meta_loss(model, {**params, name: params[name] - delta}, task)
      numeric = (plus - minus).numpy() / (2 * step)
      np.testing.assert_allclose(analytic[index], numeric, rtol=1e-4, atol=1e-8,
                                 err_msg=f"{model.config.noise}: {name}[{index}]")


@pytest.mark.parametrize("batch_norm", ["transductive", "support"])
def test_meta_gradient_of_phi_matches_finite_differences(batch_norm):
  assert_meta_gradient_matches_finite_differences(
      tiny_model(dtype="float64", batch_norm=batch_norm),
      ["conv2/noise_kernel", "conv1/noise_bias", "conv3/kernel", "head/noise_kernel"])


def learner_for(model, meta_gradient, ways=3, shots=2, queries=2):
  meta = config_lib.MetaConfig(inner_lr=0.1, num_inner_steps=1, meta_gradient=meta_gradient)
  return meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(ways, shots, queries, 2))


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
      np.testing.assert_allclose(grads[True][name].numpy(), query_only[name].numpy(),
                                 rtol=1e-4, atol=1e-8)
      assert not np.allclose(grads[False][name].numpy(), query_only[name].numpy(), rtol=1e-2)


def query_only_phi_gradients(model, task):
  """d(query loss)/d(phi) with the adapted weights treated as constants."""
  support_x, support_y, query_x, query_y = task
  params = model.params
  fast = meta_learner.adapt(model, params, support_x, support_y, 0.1, 1, 1, SEED)
  fast = {name: tf.stop_gradient(value) if name in model.theta else value
          for name, value in fast.items()}
  with tf.GradientTape() as tape:
    loss = meta_learner.cross_entropy(meta_learner.query_logits(model, fast, support_x, query_x),
                                      query_y)
  return dict(zip(model.phi, tape.gradient(loss, list(model.phi.values()))))


def test_maml_mode_has_no_phi():
  model = tiny_model(noise="none")
  assert model.phi == {}
  x = tf.random.uniform([4, 16, 16, 1])
  np.testing.assert_array_equal(model(x, sample=True, seed=SEED).numpy(), model(x).numpy())


@pytest.mark.parametrize("noise", ["none", "deterministic", "multiplicative"])
def test_meta_test_runs_one_pass_only_where_every_draw_is_the_same(noise):
  """adapt_and_predict skips S - 1 identical passes for noise-free models, and only for them."""
  model = tiny_model(noise=noise)
  support_x, support_y, query_x, _ = random_task()
  meta = config_lib.MetaConfig(inner_lr=0.5, num_inner_steps=2)
  shortcut = meta_learner.adapt_and_predict(model, model.params, meta, support_x, support_y,
                                            query_x, SEED, 5)
  fast = meta_learner.adapt(model, model.params, support_x, support_y, 0.5, 2, 5, SEED, True)
  explicit = tf.nn.softmax(meta_learner.query_logits(model, fast, support_x, query_x))
  np.testing.assert_allclose(shortcut.numpy(), explicit.numpy(), rtol=1e-5, atol=1e-6)
  if noise == "multiplicative":  # the draws differ, so S matters
    one = meta_learner.adapt_and_predict(model, model.params, meta, support_x, support_y, query_x,
                                         SEED, 1)
    assert np.abs(one.numpy() - shortcut.numpy()).max() > 1e-6


def test_inner_steps_lower_the_support_loss(omniglot_test):
  cfg = config_lib.EpisodeConfig(5, 1, 15, 1)
  task = episodes.sample_episode(tf.constant(omniglot_test[0][:100]), cfg, SEED)
  model = network.Conv4(config_lib.ModelConfig(num_ways=5, num_filters=16))
  params = model.params

  def support_loss_after(num_steps):  # the same noise draws before and after adapting
    fast = meta_learner.adapt(model, params, task.support_images, task.support_labels, 0.1,
                              num_steps, 4, SEED)
    return float(meta_learner.inner_loss(model, fast, task.support_images, task.support_labels,
                                         4, SEED))

  before = support_loss_after(0)
  one, five = support_loss_after(1), support_loss_after(5)
  assert five < one < before
  assert five < before - 0.05


def test_functional_forward_with_given_weights_equals_the_keras_call():
  model, other = tiny_model(), tiny_model()
  x = tf.random.uniform([6, 16, 16, 1])
  fast = {k: v + 0.05 * tf.random.normal(v.shape) for k, v in model.params.items()}
  for name, value in fast.items():
    other.named_variables()[name].assign(value)
  for sample in (False, True):
    functional = model.forward(fast, x[None], sample, SEED)[0]
    np.testing.assert_allclose(functional.numpy(), other(x, sample=sample, seed=SEED).numpy(),
                               rtol=1e-5, atol=1e-6)
  assert not np.allclose(model(x).numpy(), other(x).numpy())  # the variables were not touched


def test_batch_norm_moments_stay_per_monte_carlo_sample():
  model = tiny_model()
  a, b = tf.random.uniform([5, 16, 16, 1]), 3 * tf.random.uniform([5, 16, 16, 1])
  # Without noise: the second sample's noise would come from other positions of the draw.
  batched = model.forward(model.params, tf.stack([a, b]), False, SEED)
  alone = model.forward(model.params, b[None], False, SEED)
  np.testing.assert_allclose(batched[1].numpy(), alone[0].numpy(), rtol=1e-5, atol=1e-6)


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


@pytest.mark.parametrize("meta_sgd", [False, True], ids=["maml", "meta_sgd"])
@pytest.mark.parametrize("noise", sorted(PHI_OF))
def test_every_variant_gives_every_meta_parameter_a_gradient(noise, meta_sgd):
  model = tiny_model(noise)
  head_phi = {"noise_kernel", "noise_bias"} if noise not in ("none", "deterministic") else set()
  assert set(model.phi) == ({f"conv{i}/{n}" for i in range(1, 5) for n in PHI_OF[noise]} |
                            {f"head/{n}" for n in head_phi})
  meta = config_lib.MetaConfig(inner_lr=0.1, num_inner_steps=1, meta_sgd=meta_sgd)
  learner = meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(3, 2, 2, 2))
  assert set(learner.inner_lrs) == ({f"{n}/inner_lr" for n in model.theta} if meta_sgd else set())
  _, _, values = learner.task_gradients(episodes.Episode(*random_task()), SEED)
  grads = dict(zip(learner.variables_by_name, values))
  assert set(grads) == set(model.params) | set(learner.inner_lrs)
  # Batch norm cancels a conv bias unless the noise multiplies the pre-activation: its
  # meta-gradient is zero but for rounding, and may be exactly zero.
  cancelled = (set() if noise in MULTIPLICATIVE else
               {name for name in grads if re.fullmatch(r"conv\d/bias(/inner_lr)?", name)})
  without_gradient = [name for name, g in grads.items()
                      if float(tf.norm(g)) == 0 and name not in cancelled]
  assert without_gradient == []
  largest = max(float(tf.reduce_max(tf.abs(g))) for g in values)
  assert all(float(tf.reduce_max(tf.abs(grads[name]))) < 1e-4 * largest for name in cancelled)


def test_meta_sgd_steps_each_weight_with_its_own_learning_rate():
  model = tiny_model()
  support_x, support_y, _, _ = random_task()
  meta = config_lib.MetaConfig(inner_lr=0.1, num_inner_steps=1, meta_sgd=True)
  learner = meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(3, 2, 2, 2))
  scalar = meta_learner.adapt(model, model.params, support_x, support_y, 0.1, 1, 1, SEED)
  initial = meta_learner.adapt(model, learner.params, support_x, support_y, 0.1, 1, 1, SEED)
  for name in model.theta:  # learned rates start at --inner_lr
    np.testing.assert_allclose(initial[name].numpy(), scalar[name].numpy(), rtol=1e-6)
  learner.inner_lrs["conv2/kernel/inner_lr"].assign(tf.zeros_like(model.theta["conv2/kernel"]))
  learner.inner_lrs["head/bias/inner_lr"].assign([0.3, 0.0, 0.1])
  fast = meta_learner.adapt(model, learner.params, support_x, support_y, 0.1, 1, 1, SEED)
  np.testing.assert_array_equal(fast["conv2/kernel"].numpy(), model.theta["conv2/kernel"].numpy())
  step = (model.theta["head/bias"] - scalar["head/bias"]).numpy() / 0.1  # the plain gradient
  np.testing.assert_allclose((model.theta["head/bias"] - fast["head/bias"]).numpy(),
                             step * [0.3, 0.0, 0.1], rtol=1e-5, atol=1e-7)


def test_meta_sgd_learning_rates_change_with_meta_training():
  model = tiny_model()
  meta = config_lib.MetaConfig(inner_lr=0.1, num_inner_steps=1, meta_sgd=True)
  learner = meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(3, 2, 2, 2))
  batch = tf.nest.map_structure(lambda x: tf.stack([x, x]), episodes.Episode(*random_task()))
  for step in range(3):
    assert learner.train_step(batch, step)[2]
  for name, lr in learner.inner_lrs.items():
    assert not np.allclose(lr.numpy(), 0.1), name


def adapt_as_tf1_did(model, params, support_x, support_y, inner_lr, num_steps, num_samples, seed,
                     meta_gradient):
  """The authors' TF 1.12 inner loop, written without a custom gradient.

  Each step takes d(loss)/d(batch-norm input) of every layer once, as constants
  (the output of FusedBatchNormGrad, which had no gradient there), and rebuilds
  each conv's inner gradient from them through that layer alone: through its
  input and its noise, as in their graph. The head's gradient is the usual one.
  """
  assert meta_gradient == "authors_tf1"
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
        f = conv.apply(network._weights_of(conv, fast), x, True, rng.fold_in(step_seed, index))
        tape.watch(f)
        bn_inputs.append(f)
        x = norm.apply(network._weights_of(norm, fast), f, num_samples)
        x = tf.nn.max_pool2d(tf.nn.relu(x), 2, 2, "VALID")
      x = tf.reshape(x, [tf.shape(x)[0], -1])
      logits = model.head.apply(network._weights_of(model.head, fast), x, True,
                                rng.fold_in(step_seed, network.NUM_BLOCKS))
      loss = meta_learner.cross_entropy(tf.reshape(logits, [num_samples, -1, model.config.num_ways]),
                                        support_y[None])
    grads = dict(zip(head_names, tape.gradient(loss, [fast[n] for n in head_names])))
    constants = [tf.stop_gradient(g) for g in tape.gradient(loss, bn_inputs)]
    for index, conv in enumerate(model.convs):
      names = [f"{conv.name}/{n}" for n in conv.theta_names]
      with tf.GradientTape() as layer_tape:
        layer_tape.watch([fast[n] for n in names])
        f = conv.apply(network._weights_of(conv, fast), layer_inputs[index], True,
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
      loss = meta_loss(model, params, task, "exact" if name == "exact" else "authors_tf1",
                       adapt=adapt)
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
    fast[meta_gradient] = meta_learner.adapt(model, model.params, support_x, support_y, 0.1, 3, 2,
                                             SEED, meta_gradient)
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
