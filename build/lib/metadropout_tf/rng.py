"""Stateless randomness: every draw is a pure function of a [2] int64 seed.

One seed drives a run. It is split once, here, into named streams (`stream`):
initial weights, training episodes, training noise, and the episodes and noise
of held-out evaluation, so no two purposes share draws. Within a stream, step t
uses (stream seed, t), and each task, inner step, layer and noise draw folds in
its own index. Graph, eager and resumed runs therefore draw the same numbers
(stateful RNGs differ between graph and XLA).
"""
import zlib

import numpy as np
import tensorflow as tf

ALG = "philox"  # fixed, not "auto_select": the same draws on every device
STREAMS = ("init", "episodes", "noise", "eval_episodes", "eval_noise")


def stream(seed, name):
  """The int seed of the stream `name` (one of STREAMS) of a run seeded `seed`."""
  if name not in STREAMS:
    raise ValueError(f"unknown random stream {name!r}: one of {STREAMS}")
  return int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0] >> 1)


def fold_in(seed, data):
  """A new [2] int64 seed from `seed` and an integer (tensor)."""
  return tf.cast(tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), data), tf.int64)


def step_seed(seed, step):
  """The seed of meta-iteration (or evaluation episode) `step` of a run seeded `seed`."""
  return tf.stack([tf.constant(seed, tf.int64), tf.cast(step, tf.int64)])


def normal(shape, seed, dtype=tf.float32):
  return tf.random.stateless_normal(shape, seed=seed, dtype=dtype, alg=ALG)


def uniform(shape, seed):
  return tf.random.stateless_uniform(shape, seed=seed, alg=ALG)
