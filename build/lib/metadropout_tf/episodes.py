"""N-way K-shot Q-query episodes as a deterministic tf.data pipeline.

Every episode is a pure function of (seed, step, task index), drawn with
stateless ops: a resumed run sees the same episodes, and the evaluation set is
fixed by its seed. Each task of a meta-batch draws its own classes (the
original code reused one class set for the whole meta-batch); the classes come
in random order, so the label map 0..N-1 is a fresh permutation per task.
"""
from typing import NamedTuple

import tensorflow as tf

from metadropout_tf import rng
from metadropout_tf.errors import ConfigError


class Episode(NamedTuple):
  """One task, or a meta-batch of them with a leading [B] axis.

  support_images [(B,) N*K, H, W, C] float32 in [0, 1]; support_labels [(B,) N*K] int32;
  query_images [(B,) N*Q, H, W, C]; query_labels [(B,) N*Q]. Examples are class-major.
  """
  support_images: tf.Tensor
  support_labels: tf.Tensor
  query_images: tf.Tensor
  query_labels: tf.Tensor


def episode_spec(config, image_shape, batched):
  """The `Episode` of TensorSpecs for an `EpisodeConfig`, for input signatures."""
  lead = (config.meta_batch_size,) if batched else ()
  num_support = config.num_ways * config.num_shots
  num_query = config.num_ways * config.num_queries
  return Episode(tf.TensorSpec([*lead, num_support, *image_shape], tf.float32),
                 tf.TensorSpec([*lead, num_support], tf.int32),
                 tf.TensorSpec([*lead, num_query, *image_shape], tf.float32),
                 tf.TensorSpec([*lead, num_query], tf.int32))


def check_fits(config, images_shape):
  """Raises ConfigError if the episodes cannot be drawn from [classes, per_class, ...]."""
  num_classes, per_class = images_shape[:2]
  if config.num_ways > num_classes:
    raise ConfigError(f"way {config.num_ways} is larger than the {num_classes} classes "
                      "available: lower --way")
  if config.num_shots + config.num_queries > per_class:
    raise ConfigError(f"shot + query = {config.num_shots + config.num_queries} exceeds the "
                      f"{per_class} examples per class: lower --shot or --query")


def sample_episode(images, config, seed):
  """Draws one task from `images` [classes, per_class, H, W, C] with a [2] seed."""
  num_classes, per_class = tf.shape(images)[0], tf.shape(images)[1]
  ways, shots, queries = config.num_ways, config.num_shots, config.num_queries
  class_seed, example_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
  classes = tf.argsort(rng.uniform([num_classes], class_seed))[:ways]
  examples = tf.argsort(rng.uniform([ways, per_class], example_seed))[:, :shots + queries]
  indices = tf.stack([tf.broadcast_to(classes[:, None], tf.shape(examples)), examples], -1)
  picked = tf.gather_nd(images, indices)  # [N, K+Q, H, W, C]
  picked = tf.image.convert_image_dtype(picked, tf.float32)
  image_shape = tf.shape(picked)[2:]
  labels = tf.range(ways, dtype=tf.int32)[:, None]
  return Episode(tf.reshape(picked[:, :shots], tf.concat([[-1], image_shape], 0)),
                 tf.reshape(tf.tile(labels, [1, shots]), [-1]),
                 tf.reshape(picked[:, shots:], tf.concat([[-1], image_shape], 0)),
                 tf.reshape(tf.tile(labels, [1, queries]), [-1]))


def episode_dataset(images, config, seed, start_step=0, num_steps=None, batched=True):
  """tf.data of episodes for steps start_step, start_step + 1, ... (prefetched).

  Args:
    images: [classes, per_class, H, W, C] float32 in [0, 1] or uint8.
    config: an `EpisodeConfig`.
    seed: int; episode `step` (task t) uses seed (seed, step) folded with t.
    batched: yield meta-batches [B, ...] of `config.meta_batch_size` tasks, or single tasks.
  Yields:
    (step, Episode).
  """
  check_fits(config, images.shape)
  images = tf.convert_to_tensor(images)
  stop = None if num_steps is None else start_step + num_steps
  steps = tf.data.Dataset.range(start_step, stop if stop is not None else 2**62)

  def make(step):
    step_seed = rng.step_seed(seed, step)
    if not batched:
      return step, sample_episode(images, config, step_seed)
    tasks = [sample_episode(images, config, rng.fold_in(step_seed, t))
             for t in range(config.meta_batch_size)]
    return step, tf.nest.map_structure(lambda *x: tf.stack(x), *tasks)

  return steps.map(make, num_parallel_calls=tf.data.AUTOTUNE,
                   deterministic=True).prefetch(tf.data.AUTOTUNE)
