"""The SavedModel: plain-TensorFlow use, same predictions as the package."""
import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import episodes
from metadropout_tf import errors
from metadropout_tf import export
from metadropout_tf import inner_loop
from metadropout_tf import meta_learner
from metadropout_tf import network


def test_saved_model_matches_the_package_for_a_fixed_seed(exported):
  learner, meta, loaded, task = exported
  seed = tf.constant([4, 5], tf.int64)
  fast = learner.algorithm.adapt_for_test(learner.params, task.support_images,
                                          task.support_labels, seed, 3)
  expected = inner_loop.predict(learner.model, fast, task.support_images, task.query_images)
  got = loaded.adapt_and_predict_seeded(task.support_images, task.support_labels,
                                        task.query_images, seed, tf.constant(3))
  np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
  default = loaded.adapt_and_predict(task.support_images, task.support_labels, task.query_images)
  assert default.shape == (20, 5)
  np.testing.assert_allclose(default.numpy().sum(-1), 1, rtol=1e-5)
  assert loaded.config_json.numpy() == b'{"note": "test"}'


def test_one_adaptation_predicts_many_query_sets(exported):
  """adapt + predict_adapted is adapt_and_predict split in two, and differentiable in the
  query images (what an attack on the adapted model needs)."""
  learner, _, loaded, task = exported
  seed, samples = tf.constant([4, 5], tf.int64), tf.constant(3)
  adapted = loaded.adapt(task.support_images, task.support_labels, seed, samples)
  assert [tuple(a.shape) for a in adapted] == [tuple(v.shape) for v in learner.model.theta.values()]
  whole = loaded.adapt_and_predict_seeded(task.support_images, task.support_labels,
                                          task.query_images, seed, samples)
  query = tf.Variable(task.query_images)
  with tf.GradientTape() as tape:
    probs = loaded.predict_adapted(adapted, task.support_images, query)
    loss = -tf.reduce_mean(tf.math.log(tf.gather(probs, task.query_labels, batch_dims=1)))
  np.testing.assert_array_equal(probs.numpy(), whole.numpy())
  gradient = tape.gradient(loss, query)
  assert np.all(np.isfinite(gradient.numpy())) and np.abs(gradient.numpy()).max() > 0
  with pytest.raises(tf.errors.InvalidArgumentError, match="query_images hold NaN"):
    loaded.predict_adapted(adapted, task.support_images, task.query_images * np.nan)


def test_saved_model_serving_signature(exported):
  _, _, loaded, task = exported
  out = loaded.signatures["adapt_and_predict"](support_images=task.support_images,
                                               support_labels=task.support_labels,
                                               query_images=task.query_images)
  assert out["probabilities"].shape == (20, 5)


def test_saved_model_refuses_a_wrong_image_shape(exported):
  _, _, loaded, task = exported
  with pytest.raises((TypeError, ValueError)):
    loaded.adapt_and_predict(tf.zeros([5, 84, 84, 3]), task.support_labels, task.query_images)


def test_saved_model_refuses_labels_outside_the_way(exported):
  _, _, loaded, task = exported
  with pytest.raises(tf.errors.InvalidArgumentError, match="support_labels must be in 0..4"):
    loaded.adapt_and_predict(task.support_images, task.support_labels + 5, task.query_images)


@pytest.mark.parametrize("case, message", [
    ("nan_query", "query_images hold NaN or Inf pixels"),
    ("inf_support", "support_images hold NaN or Inf pixels"),
    ("empty_support", "the support set is empty"),
    ("missing_class", "the support set must show every class 0..4"),
    ("label_count", "support_labels must have one label per support image"),
    ("no_samples", "num_samples (S) must be at least 1")])
def test_saved_model_refuses_a_task_it_cannot_answer_for(exported, case, message):
  _, _, loaded, task = exported
  support, labels, query = task.support_images, task.support_labels, task.query_images
  samples = tf.constant(3)
  if case == "nan_query":
    query = tf.tensor_scatter_nd_update(query, [[3, 10, 10, 0]], [np.nan])
  elif case == "inf_support":
    support = tf.tensor_scatter_nd_update(support, [[0, 0, 0, 0]], [np.inf])
  elif case == "empty_support":
    support, labels = support[:0], labels[:0]
  elif case == "missing_class":
    labels = tf.where(labels == 4, 0, labels)
  elif case == "label_count":
    labels = labels[:-1]
  else:
    samples = tf.constant(0)
  with pytest.raises(tf.errors.InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
    loaded.adapt_and_predict_seeded(support, labels, query, tf.constant([0, 0], tf.int64), samples)


def test_a_saved_model_of_another_version_is_named_as_such(exported, tmp_path):
  """Its weights load, but its run config has fields this version does not know."""
  learner, meta, _, _ = exported
  path = str(tmp_path / "saved_model")
  export.save(learner.algorithm, learner.params, {"note": "test"}, path)
  with pytest.raises(errors.ConfigError, match=r"at .*saved_model was exported by another "
                     r"version of metadropout-tf \(not a config of this version .*'note'"):
    export.load(path)


def parents(op):
  """The ops `op` waits for: its data inputs' and its control inputs."""
  return [t.op for t in op.inputs] + list(op.control_inputs)


def topological(ops):
  """`ops` with every op after its data and control inputs."""
  order, done, stack = [], set(), [(op, False) for op in ops]
  while stack:
    op, expanded = stack.pop()
    if op in done:
      continue
    if expanded:
      done.add(op)
      order.append(op)
    else:
      stack.append((op, True))
      stack.extend((p, False) for p in parents(op) if p not in done)
  return order


def test_the_support_checks_run_before_any_computation_reads_the_support_set(exported):
  """An empty support set reaching a kernel kills the process (SIGFPE) instead of raising, so
  nothing but the checks may read what they check before every check has passed."""
  learner, meta, _, _ = exported
  module = export.build_module(learner.algorithm, learner.params, {})
  graph = module.adapt.get_concrete_function().graph
  checked = {t.op for i, t in enumerate(graph.inputs[:4]) if i != 2}  # all but the seed
  checks = {op for op in graph.get_operations()
            if op.type in ("Assert", "CheckNumerics") or op.name.endswith("AssertGuard")}
  assert len(checks) == 7
  checks_above, reads_checked = {}, {}
  for op in topological(graph.get_operations()):
    checks_above[op] = set().union(*(checks_above[p] for p in parents(op))) | (checks & {op})
    reads_checked[op] = op in checked or any(reads_checked[p] for p in parents(op))
  checking, stack = set(), list(checks)  # the checks and what they compute from
  while stack:
    op = stack.pop()
    if op not in checking:
      checking.add(op)
      stack.extend(parents(op))
  unguarded = [op.name for op in graph.get_operations()  # an Identity computes nothing
               if reads_checked[op] and op not in checking and op.type != "Identity"
               and checks_above[op] != checks]
  assert not unguarded


@pytest.mark.parametrize("algorithm", ["maml", "anil"])
def test_the_saved_model_adapts_what_the_algorithm_adapts(algorithm, tmp_path, omniglot_test):
  """The SavedModel asks the algorithm which weights adapt: ANIL's adapt returns the head only,
  and its predictions are the package's."""
  model = network.Conv4(config_lib.ModelConfig(num_ways=5, num_filters=4))
  meta = config_lib.MetaConfig(num_inner_steps=2, num_test_mc_samples=2, algorithm=algorithm)
  learner = meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(5, 1, 4, 1))
  path = str(tmp_path / "saved_model")
  export.save(learner.algorithm, learner.params, {"note": "test"}, path)
  loaded = tf.saved_model.load(path)
  task = episodes.sample_episode(tf.constant(omniglot_test[0][:50]),
                                 config_lib.EpisodeConfig(5, 1, 4, 1), tf.constant([1, 2], tf.int64))
  seed = tf.constant([4, 5], tf.int64)
  adapted = loaded.adapt(task.support_images, task.support_labels, seed, tf.constant(2))
  assert [tuple(w.shape) for w in adapted] == [tuple(model.params[n].shape)
                                               for n in learner.algorithm.adapted]
  assert len(adapted) == (2 if algorithm == "anil" else len(model.theta))
  fast = learner.algorithm.adapt_for_test(learner.params, task.support_images,
                                          task.support_labels, seed, 2)
  expected = inner_loop.predict(model, fast, task.support_images, task.query_images)
  got = loaded.adapt_and_predict_seeded(task.support_images, task.support_labels,
                                        task.query_images, seed, tf.constant(2))
  np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case, message", [
    ("nan_support", "support_images hold NaN or Inf pixels"),
    ("empty_support", "support_images is empty"),
    ("empty_query", "query_images is empty"),
    ("nan_query", "query_images hold NaN or Inf pixels")])
def test_predict_adapted_checks_its_images_too(exported, case, message):
  """With support batch norm the query pass reads the support images: one NaN there, or none
  at all, would silently give near-uniform probabilities."""
  _, _, loaded, task = exported
  adapted = loaded.adapt(task.support_images, task.support_labels, tf.constant([1, 2], tf.int64),
                         tf.constant(2))
  support, query = task.support_images, task.query_images
  if case == "nan_support":
    support = tf.tensor_scatter_nd_update(support, [[1, 5, 5, 0]], [np.nan])
  elif case == "empty_support":
    support = support[:0]
  elif case == "empty_query":
    query = query[:0]
  else:
    query = tf.tensor_scatter_nd_update(query, [[0, 1, 1, 0]], [np.inf])
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    loaded.predict_adapted(adapted, support, query)
