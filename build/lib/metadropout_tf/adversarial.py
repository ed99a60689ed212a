"""Adversarial robustness of adapted models (the paper's Fig. 5): attacks on the query images.

The model adapts to the clean support set once; an attack then moves each query image, within
an epsilon ball around it (per image) and inside [0, 1], to raise the adapted model's query loss:
  fgsm: one step of size epsilon along the steepest-ascent direction of the norm (for L-inf the
        gradient's sign: Goodfellow et al., 2015, the paper's attack);
  pgd:  `steps` projected steps of 2.5 * epsilon / steps from the clean images (Madry et al.,
        2018), in the L-inf, L2 or L1 ball (the authors' README figure has all three).
For L1 the steepest step moves the top 1% of pixels by gradient size (Tramer & Boneh, 2019:
one pixel at a time barely moves), and the projection is Duchi et al.'s (2008).
"""
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from metadropout_tf import evaluation
from metadropout_tf import intervals

NORMS = ("linf", "l2", "l1")
L1_FRACTION = 0.01  # of the pixels moved by an L1 step


class Attack(NamedTuple):
  method: str  # "fgsm" or "pgd"
  norm: str  # one of NORMS

  @property
  def name(self):
    return f"{self.method}_{self.norm}"

  @classmethod
  def parse(cls, name):
    method, _, norm = name.partition("_")
    if method not in ("fgsm", "pgd") or norm not in NORMS:
      raise ValueError(f"unknown attack {name!r}: use fgsm_<norm> or pgd_<norm> with <norm> in "
                       f"{NORMS}")
    return cls(method, norm)


def _flat(x):
  """[images, pixels], with the pixel count static (images have a known height, width, depth)."""
  return tf.reshape(x, [tf.shape(x)[0], x.shape[1:].num_elements()])


def steepest_step(gradient, norm):
  """The step of unit `norm` per image that most raises a loss with this `gradient`."""
  if norm == "linf":
    return tf.sign(gradient)
  flat = _flat(gradient)
  if norm == "l2":
    step = flat / tf.maximum(tf.norm(flat, axis=1, keepdims=True), 1e-12)
  else:
    k = max(1, int(np.ceil(L1_FRACTION * flat.shape[1])))
    threshold = tf.math.top_k(tf.abs(flat), k).values[:, -1:]
    chosen = tf.cast(tf.abs(flat) >= threshold, flat.dtype) * tf.sign(flat)
    step = chosen / tf.maximum(tf.reduce_sum(tf.abs(chosen), axis=1, keepdims=True), 1.0)
  return tf.reshape(step, tf.shape(gradient))


def project(delta, norm, epsilon):
  """The nearest point to `delta` (per image) in the `norm` ball of radius `epsilon`."""
  if norm == "linf":
    return tf.clip_by_value(delta, -epsilon, epsilon)
  flat = _flat(delta)
  if norm == "l2":
    length = tf.norm(flat, axis=1, keepdims=True)
    return tf.reshape(flat * tf.minimum(1.0, epsilon / tf.maximum(length, 1e-12)), tf.shape(delta))
  size = tf.abs(flat)  # L1 (Duchi et al., 2008): soft-threshold by the theta that fits the ball
  ordered = tf.sort(size, axis=1, direction="DESCENDING")
  cumulative = tf.cumsum(ordered, axis=1)
  j = tf.range(1, tf.shape(flat)[1] + 1, dtype=flat.dtype)
  count = tf.reduce_sum(tf.cast(ordered - (cumulative - epsilon) / j > 0, tf.int32), axis=1)
  theta = (tf.gather(cumulative, tf.maximum(count, 1) - 1, batch_dims=1) - epsilon) / tf.cast(
      tf.maximum(count, 1), flat.dtype)
  inside = tf.reduce_sum(size, axis=1) <= epsilon
  shrunk = tf.sign(flat) * tf.nn.relu(size - theta[:, None])
  return tf.reshape(tf.where(inside[:, None], flat, shrunk), tf.shape(delta))


def query_loss(predict, images, labels):
  probs = predict(images)
  return -tf.reduce_mean(tf.math.log(tf.gather(probs, labels, batch_dims=1) + 1e-12))


def perturb(predict, images, labels, attack, epsilon, steps=10):
  """Adversarial query images for `predict` (query images -> probabilities [Q, N]); epsilon > 0,
  a number or a scalar tensor."""

  def gradient(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      loss = query_loss(predict, x, labels)
    return tape.gradient(loss, x)

  if attack.method == "fgsm":
    return tf.clip_by_value(images + epsilon * steepest_step(gradient(images), attack.norm), 0, 1)
  step_size = 2.5 * epsilon / steps
  adversarial = images
  for _ in range(steps):
    delta = adversarial + step_size * steepest_step(gradient(adversarial), attack.norm) - images
    adversarial = tf.clip_by_value(images + project(delta, attack.norm, epsilon), 0, 1)
  return adversarial


def robustness(loaded, images, episode_config, num_episodes, seed, attacks, epsilons, num_samples,
               steps=10, on_episode=None):
  """Query accuracy of a loaded SavedModel under each attack and epsilon.

  The episodes and noise are `evaluation.meta_test`'s for `seed`, so epsilon 0 gives its
  accuracy. epsilons: {norm: [epsilon, ...]}.
  Returns {attack name: {"epsilons", "accuracy", "ci95" (lists over epsilons), "accuracies"
  (per epsilon, per episode)}}.
  """
  scores = {attack: [[] for _ in epsilons[attack.norm]] for attack in attacks}
  attacked = {attack: _attacked_probabilities(loaded, attack, steps) for attack in attacks}
  episodes = evaluation.fixed_episodes(images, episode_config, num_episodes, seed)
  for done, (task, noise_seed) in enumerate(episodes, 1):
    adapted = loaded.adapt(task.support_images, task.support_labels, noise_seed,
                           tf.constant(num_samples, tf.int32))
    clean = intervals.accuracy(loaded.predict_adapted(adapted, task.support_images,
                                                      task.query_images), task.query_labels)
    for attack, per_epsilon in scores.items():
      for epsilon, accuracies in zip(epsilons[attack.norm], per_epsilon):
        accuracies.append(clean if epsilon == 0 else intervals.accuracy(
            attacked[attack](adapted, task.support_images, task.query_images, task.query_labels,
                             tf.constant(epsilon, tf.float32)), task.query_labels))
    if on_episode:
      on_episode(done)
  results = {}
  for attack, per_epsilon in scores.items():
    summaries = [intervals.summary(accuracies) for accuracies in per_epsilon]
    results[attack.name] = {"epsilons": list(epsilons[attack.norm]),
                            "accuracy": [s["accuracy"] for s in summaries],
                            "ci95": [s["ci95"] for s in summaries],
                            "accuracies": per_epsilon}
  return results


def _attacked_probabilities(loaded, attack, steps):
  """The adapted model's probabilities on attacked queries, as one graph per attack (traced once
  for every episode and epsilon): run eagerly, each of PGD's gradients through the SavedModel's
  functions costs a Python round trip."""

  @tf.function
  def attacked_probabilities(adapted, support_images, query_images, query_labels, epsilon):
    def predict(images):
      return loaded.predict_adapted(adapted, support_images, images)
    return predict(perturb(predict, query_images, query_labels, attack, epsilon, steps))

  return attacked_probabilities
