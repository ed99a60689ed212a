"""The SavedModel: adapt to a support set and predict the queries, in plain TensorFlow.

  loaded = tf.saved_model.load(path)
  probs = loaded.adapt_and_predict(support_images, support_labels, query_images)

Images are float32 [n, H, W, C] in [0, 1] (Omniglot: ink 1, paper 0); labels
int32 in 0..N-1 with N the trained way. The inner loop (num_inner_steps SGD steps
on the support loss averaged over S noise samples) runs inside the graph.
`adapt_and_predict_seeded` also takes the [2] int64 noise seed and S. To predict many query
sets (or attack them) with one adaptation:
  adapted = loaded.adapt(support_images, support_labels, seed, num_samples)  # theta, a list
  probs = loaded.predict_adapted(adapted, support_images, query_images)
"""
import json
import os

import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import errors
from metadropout_tf import graph_options
from metadropout_tf import inner_loop


def build_module(algorithm, params, run_config):
  """A tf.Module holding copies of `params` and the tf.functions.

  algorithm: the run's (`MetaLearner.algorithm`): which weights adapt, with which step sizes.
  params: every meta-learned weight by name (`MetaLearner.params`, the model's and the
  algorithm's, e.g. Meta-SGD's step sizes).

  The Keras model is only used while tracing: the module tracks plain
  tf.Variables, so loading it needs TensorFlow alone.
  """
  graph_options.apply()
  model, meta_config = algorithm.model, algorithm.meta_config
  module = tf.Module()
  names = list(params)
  module.weights = [tf.Variable(v, name=name.replace("/", "_")) for name, v in params.items()]
  module.config_json = tf.Variable(json.dumps(run_config, sort_keys=True), trainable=False)
  ways = model.config.num_ways
  image_shape = model.config.image_shape
  task_specs = [tf.TensorSpec([None, *image_shape], tf.float32, name="support_images"),
                tf.TensorSpec([None], tf.int32, name="support_labels"),
                tf.TensorSpec([None, *image_shape], tf.float32, name="query_images")]

  noise_specs = [tf.TensorSpec([2], tf.int64, name="seed"),
                 tf.TensorSpec([], tf.int32, name="num_samples")]
  adapted_names = list(algorithm.adapted)
  adapted_specs = [tf.TensorSpec(params[name].shape, tf.float32) for name in adapted_names]

  @graph_options.function(input_signature=task_specs[:2] + noise_specs)
  def adapt(support_images, support_labels, seed, num_samples):
    support_images, support_labels, num_samples = check_support(support_images, support_labels,
                                                                 num_samples, ways)
    fast = algorithm.adapt_for_test(dict(zip(names, module.weights)), support_images,
                                    support_labels, seed, num_samples)
    return [fast[name] for name in adapted_names]

  @graph_options.function(input_signature=[adapted_specs, task_specs[0], task_specs[2]])
  def predict_adapted(adapted, support_images, query_images):
    with tf.control_dependencies(adapted):  # after adapt's own checks, when chained to it
      support_images = check_images(support_images, "support_images")  # "support" batch norm's
      query_images = check_images(query_images, "query_images")
    fast = {**dict(zip(names, module.weights)), **dict(zip(adapted_names, adapted))}
    return inner_loop.predict(model, fast, support_images, query_images)

  @graph_options.function(input_signature=task_specs + noise_specs)
  def adapt_and_predict_seeded(support_images, support_labels, query_images, seed, num_samples):
    return predict_adapted(adapt(support_images, support_labels, seed, num_samples),
                           support_images, query_images)

  @graph_options.function(input_signature=task_specs)
  def adapt_and_predict(support_images, support_labels, query_images):
    return adapt_and_predict_seeded(support_images, support_labels, query_images,
                                    tf.constant([0, 0], tf.int64),
                                    tf.constant(meta_config.num_test_mc_samples, tf.int32))

  module.adapt = adapt
  module.predict_adapted = predict_adapted
  module.adapt_and_predict_seeded = adapt_and_predict_seeded
  module.adapt_and_predict = adapt_and_predict
  return module


def check_support(support_images, support_labels, num_samples, ways):
  """The inputs, once a support set the model cannot adapt to has been refused.

  One NaN pixel would silently shift every prediction (batch norm mixes the batch), and a class
  without support examples cannot be learned. The compute reads the returned tensors, so the
  checks run first: an empty batch reaching a kernel kills the process (SIGFPE) instead of
  raising, and without the dependency that happened or not by thread timing.
  """
  num_support = tf.shape(support_images)[0]
  shown = tf.reduce_any(tf.equal(support_labels[:, None], tf.range(ways)[None]), axis=0)
  checks = [
      tf.debugging.assert_positive(num_support, "the support set is empty: give at least one "
                                   f"example of each of the {ways} classes"),
      tf.debugging.assert_equal(tf.shape(support_labels)[0], num_support,
                                "support_labels must have one label per support image"),
      tf.debugging.assert_less(support_labels, ways, f"support_labels must be in 0..{ways - 1}"),
      tf.debugging.assert_non_negative(support_labels, "support_labels must be non-negative"),
      tf.debugging.assert_equal(tf.reduce_all(shown), True,
                                f"the support set must show every class 0..{ways - 1} (the "
                                f"model was trained for {ways}-way tasks)"),
      tf.debugging.assert_all_finite(support_images, "support_images hold NaN or Inf pixels"),
      tf.debugging.assert_positive(num_samples, "num_samples (S) must be at least 1")]
  with tf.control_dependencies(checks):
    return tf.identity(support_images), tf.identity(support_labels), tf.identity(num_samples)


def check_images(images, name):
  """`images` once it has been checked to hold at least one image and only finite pixels (read
  before any kernel, as in `check_support`)."""
  checks = [tf.debugging.assert_positive(tf.shape(images)[0], f"{name} is empty: give at least "
                                         "one image"),
            tf.debugging.assert_all_finite(images, f"{name} hold NaN or Inf pixels")]
  with tf.control_dependencies(checks):
    return tf.identity(images)


def save(algorithm, params, run_config, path):
  """Writes the SavedModel with serving signatures of the same names."""
  module = build_module(algorithm, params, run_config)
  signatures = {
      "adapt_and_predict": _as_signature(module.adapt_and_predict),
      "adapt_and_predict_seeded": _as_signature(module.adapt_and_predict_seeded),
  }
  tf.saved_model.save(module, path, signatures=signatures)
  return module


def _as_signature(function):
  """A serving signature returning {"probabilities": [Q, N]}, left untraced: `tf.saved_model.save`
  traces functions in its own context, so a trace made here would be a second one, stored twice."""
  specs = function.input_signature

  @graph_options.function(input_signature=specs)
  def signature(*args):
    return {"probabilities": function(*args)}
  return signature


def load(path):
  """The SavedModel and its run's RunConfig; one clear error if it is missing or damaged."""
  if not os.path.isdir(path):
    raise errors.ConfigError(f"no SavedModel at {path}: train.py exports one when it finishes")
  graph_options.apply()
  try:
    model = tf.saved_model.load(path)
    config_json = json.loads(model.config_json.numpy().decode())
  except Exception as error:  # pylint: disable=broad-except  (TF's loader raises OSError,
    # ValueError, IndexError, OpError or a protobuf error by damage: each means "damaged")
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
    raise errors.ConfigError(f"the SavedModel at {path} is damaged ({reason}): rerun the "
                                 "run's train.py command to export it again") from None
  try:
    return model, config_lib.RunConfig.from_dict(config_json)
  except errors.ConfigError as error:
    raise errors.ConfigError(
        f"the SavedModel at {path} was exported by another version of metadropout-tf ({error}): "
        "meta-test it with that version's evaluate.py") from None


def fingerprint(path):
  """TensorFlow's fingerprint of the SavedModel at `path` (graph and weights): tells a
  re-exported model from the one a file of results was measured on."""
  try:
    return tf.saved_model.experimental.read_fingerprint(path).singleprint()
  except Exception as error:  # pylint: disable=broad-except  (missing or unparsable file)
    raise errors.ConfigError(
        f"the SavedModel at {path} has no readable fingerprint.pb ({type(error).__name__}): "
        "rerun the run's train.py command to export it again") from None
