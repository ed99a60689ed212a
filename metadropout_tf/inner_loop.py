"""The inner loop (`adapt`), its losses and the query pass: pure functions of given weights.

The inner loop is functional: fast weights are tensors computed from the
meta-weights, never assigned to variables, so an outer tape sees the whole
unrolled adaptation and the meta-gradient is second order (Eq. 3-4). phi gets
its gradient only through that second-order path. Which weights adapt, and with
which step sizes, is the algorithm's choice (`algorithms`); it comes in as arguments.
"""
import tensorflow as tf

from metadropout_tf import rng
from metadropout_tf.config import MetaGradient
from metadropout_tf.layers import Backward

# What batch norm's backward pass in the inner loss must support under each meta-gradient.
BN_BACKWARD = {MetaGradient.EXACT: Backward.DIFFERENTIABLE,
               MetaGradient.AUTHORS_TF1: Backward.CONSTANT,
               MetaGradient.FIRST_ORDER: Backward.ONCE}


def cross_entropy(logits, labels):
  """Mean softmax cross-entropy; logits [..., N], int labels [...]."""
  return soft_cross_entropy(logits, tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype))


def soft_cross_entropy(logits, targets):
  """Mean softmax cross-entropy against class probabilities `targets` [..., N]."""
  # Written out: the fused sparse op's gradient is not differentiable, and the
  # inner loss must be (second-order meta-gradient).
  return -tf.reduce_mean(tf.reduce_sum(targets * tf.nn.log_softmax(logits), -1))


def accuracy(logits, labels):
  return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, tf.int32), labels), tf.float32))


def inner_loss(model, params, images, labels, num_samples, seed,
               bn_backward=Backward.DIFFERENTIABLE):
  """Support loss averaged over `num_samples` noise draws (Eq. 3), all in one batch, plus the
  perturbation's own term (a KL) if it has one.

  images [B, H, W, C], labels [B]; batch-norm moments stay per sample; bn_backward: a
  `layers.Backward`.
  """
  tiled = tf.tile(images[None], [num_samples, 1, 1, 1, 1])
  targets = tf.one_hot(labels, model.config.num_ways, dtype=tiled.dtype)
  logits, targets, penalty = model.forward_terms(
      params, tiled, sample=True, seed=seed, targets=tf.tile(targets[None], [num_samples, 1, 1]),
      bn_backward=bn_backward)
  loss = soft_cross_entropy(logits, targets)
  return loss if penalty is None else loss + tf.reduce_mean(penalty)


def adapt(model, params, support_images, support_labels, step_sizes, num_steps, num_samples,
          seed, meta_gradient=MetaGradient.EXACT):
  """`num_steps` SGD steps of the weights named in `step_sizes` on the support loss.

  Args:
    params: every weight by name ({"conv1/kernel": tensor, ...}).
    step_sizes: {name of a weight that adapts: its step size, a scalar or a tensor of the
      weight's shape}; every other weight of `params` (phi, batch-norm offsets, and the
      body under ANIL) stays fixed.
    meta_gradient: a `MetaGradient`, which second-order terms the derivative of the fast weights
      keeps; the fast weights themselves are the same for all three.
  Returns:
    params with the adapted weights replaced by the fast weights (tensors), which stay
    differentiable w.r.t. every entry of `params`.

  The steps are a `tf.while_loop`: the graph holds one step and its
  derivatives, not `num_steps` copies, which cut the 20-way training step's
  trace from 6.4 s to 2.5 s (and its first run by 3 s).
  """
  if not isinstance(meta_gradient, MetaGradient):
    raise TypeError(f"meta_gradient must be a config.MetaGradient, got {meta_gradient!r}")
  names = list(step_sizes)
  sizes = [step_sizes[name] for name in names]

  def inner_step(step, adapted):
    fast = {**params, **dict(zip(names, adapted))}
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(adapted)
      loss = inner_loss(model, fast, support_images, support_labels, num_samples,
                        rng.fold_in(seed, step), BN_BACKWARD[meta_gradient])
    grads = tape.gradient(loss, adapted)
    if meta_gradient is MetaGradient.FIRST_ORDER:
      grads = [tf.stop_gradient(g) for g in grads]
    return step + 1, [w - lr * g for w, lr, g in zip(adapted, sizes, grads)]

  _, adapted = tf.while_loop(lambda step, _: step < num_steps, inner_step,
                             (tf.constant(0), [params[name] for name in names]),
                             maximum_iterations=num_steps)  # XLA needs the bound
  return {**params, **dict(zip(names, adapted))}


def query_logits(model, fast, support_images, query_images):
  """Query logits [Q, N] with deterministic noise (Eq. 4).

  Transductive batch norm normalises the queries with their own moments;
  "support" batch norm normalises them with the support set's (inductive). The
  query loss is differentiated once (the meta-gradient), never twice.
  """
  if model.config.batch_norm == "transductive":
    return model.forward(fast, query_images[None], sample=False, seed=(0, 0),
                         bn_backward=Backward.ONCE)[0]
  num_support = tf.shape(support_images)[0]
  images = tf.concat([support_images, query_images], 0)[None]
  logits = model.forward(fast, images, sample=False, seed=(0, 0), num_stats=num_support,
                         bn_backward=Backward.ONCE)[0]
  return logits[num_support:]


def predict(model, fast, support_images, query_images):
  """Query class probabilities [Q, N] of adapted weights."""
  return tf.nn.softmax(query_logits(model, fast, support_images, query_images))
