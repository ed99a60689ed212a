"""Episodes drawn from the real Omniglot and miniImageNet meta-test classes: task properties."""
import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import episodes
from metadropout_tf import errors


@pytest.fixture(params=["omniglot", "miniimagenet"])
def test_classes(request):
  """(uint8 [classes, per_class, H, W, C], names) of a benchmark's real meta-test split."""
  return request.getfixturevalue({"omniglot": "omniglot_test",
                                  "miniimagenet": "mini_imagenet_test"}[request.param])


def identify(images, picked):
  """(class, example) of each picked float image, found by exact match with the uint8 arrays."""
  flat = images.reshape(-1, images[0, 0].size)
  lookup = {hash(row.tobytes()): divmod(i, images.shape[1]) for i, row in enumerate(flat)}
  as_uint8 = np.round(picked * 255).astype(np.uint8)
  return [lookup[hash(x.tobytes())] for x in as_uint8.reshape(len(picked), -1)]


def test_episodes_are_float_images_in_0_1(test_classes):
  images, _ = test_classes
  cfg = config_lib.EpisodeConfig(num_ways=5, num_shots=1, num_queries=2, meta_batch_size=1)
  _, task = next(iter(episodes.episode_dataset(images, cfg, seed=0, batched=False)))
  assert task.support_images.dtype == tf.float32
  assert task.support_images.shape == (5, *images.shape[2:])
  scaled = task.support_images.numpy() * 255  # the uint8 pixels, scaled to [0, 1]
  np.testing.assert_allclose(scaled, np.round(scaled), atol=1e-4)
  assert 0 <= task.query_images.numpy().min() and task.query_images.numpy().max() <= 1


def test_meta_batch_tasks_are_valid_and_independent(test_classes):
  images, _ = test_classes
  cfg = config_lib.EpisodeConfig(num_ways=5, num_shots=2, num_queries=3, meta_batch_size=4)
  _, batch = next(iter(episodes.episode_dataset(images, cfg, seed=3)))
  assert batch.support_images.shape == (4, 10, *images.shape[2:])
  assert batch.query_images.shape == (4, 15, *images.shape[2:])
  class_sets, first_classes = [], []
  for t in range(4):
    support = identify(images, batch.support_images[t].numpy())
    query = identify(images, batch.query_images[t].numpy())
    assert not set(support) & set(query), "support and query share an image"
    labels_s, labels_q = batch.support_labels[t].numpy(), batch.query_labels[t].numpy()
    np.testing.assert_array_equal(np.bincount(labels_s), [2] * 5)
    np.testing.assert_array_equal(np.bincount(labels_q), [3] * 5)
    label_of = {}
    for (cls, _), label in list(zip(support, labels_s)) + list(zip(query, labels_q)):
      assert label_of.setdefault(cls, label) == label, "one class, two labels"
    assert len(label_of) == 5, "classes within a task are distinct"
    class_sets.append(frozenset(label_of))
    first_classes.append(min(label_of, key=label_of.get))
  assert len(set(class_sets)) == 4, "every task of a meta-batch draws its own classes"
  assert first_classes != sorted(first_classes) or len(set(first_classes)) == 4


def test_labels_are_a_fresh_permutation_per_task(test_classes):
  """Label 0 is not tied to the smallest class index."""
  images, _ = test_classes
  cfg = config_lib.EpisodeConfig(5, 1, 1, 1)
  ranks = []
  for _, task in episodes.episode_dataset(images, cfg, seed=0, num_steps=40, batched=False):
    classes = [c for c, _ in identify(images, task.support_images.numpy())]
    ranks.append(int(np.argsort(np.argsort(classes))[0]))
  assert len(set(ranks)) == 5


def test_episodes_are_a_pure_function_of_seed_and_step(test_classes):
  images, _ = test_classes
  cfg = config_lib.EpisodeConfig(5, 1, 2, 2)
  first = list(episodes.episode_dataset(images, cfg, seed=1, num_steps=3))
  resumed = list(episodes.episode_dataset(images, cfg, seed=1, start_step=2, num_steps=1))
  np.testing.assert_array_equal(first[2][1].query_images.numpy(), resumed[0][1].query_images.numpy())
  other = list(episodes.episode_dataset(images, cfg, seed=2, num_steps=1))
  assert not np.array_equal(first[0][1].query_images.numpy(), other[0][1].query_images.numpy())


@pytest.mark.parametrize("fixture, way, shot, query, message", [
    ("omniglot_test", 1693, 1, 1, "larger than the 1692 classes"),
    ("omniglot_test", 5, 10, 11, "exceeds the 20 examples per class"),
    ("mini_imagenet_test", 21, 1, 15, "larger than the 20 classes"),
    ("mini_imagenet_test", 5, 5, 596, "exceeds the 600 examples per class"),
])
def test_impossible_episodes_are_refused(request, fixture, way, shot, query, message):
  images, _ = request.getfixturevalue(fixture)
  with pytest.raises(errors.ConfigError, match=message):
    episodes.episode_dataset(images, config_lib.EpisodeConfig(way, shot, query, 1), 0)


@pytest.mark.parametrize("field", ["num_ways", "num_shots", "num_queries", "meta_batch_size"])
def test_non_positive_counts_are_refused(field):
  with pytest.raises(errors.ConfigError, match=f"{field} must be a positive integer, got 0"):
    config_lib.EpisodeConfig(**{field: 0})
