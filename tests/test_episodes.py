"""Episodes on the real Omniglot files: split sizes and task properties."""
import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import episodes
from metadropout_tf.datasets import omniglot


def test_vinyals_split_sizes(omniglot_trainval, omniglot_test):
  images, names = omniglot_trainval
  assert images.shape == (4800, 20, 28, 28, 1) and len(set(names)) == 4800
  images, names = omniglot_test
  assert images.shape == (1692, 20, 28, 28, 1) and len(set(names)) == 1692
  assert images.dtype == np.float32 and images.min() == 0 and images.max() == 1
  # ink is 1 on a white page: most pixels are paper
  assert 0.02 < images.mean() < 0.2


def test_rotations_are_classes_of_their_own(omniglot_test):
  images, names = omniglot_test
  assert names[:4] == [names[0][:-3] + r for r in ("000", "090", "180", "270")]
  np.testing.assert_array_equal(images[1], np.rot90(images[0], 1, axes=(1, 2)))


def identify(images, picked):
  """(class, example) of each picked image, found by exact match."""
  flat = images.reshape(-1, images[0, 0].size)
  lookup = {row.tobytes(): divmod(i, images.shape[1]) for i, row in enumerate(flat)}
  return [lookup[x.tobytes()] for x in picked.reshape(len(picked), -1)]


def test_meta_batch_tasks_are_valid_and_independent(omniglot_test):
  images, _ = omniglot_test
  cfg = config_lib.EpisodeConfig(num_ways=5, num_shots=2, num_queries=3, meta_batch_size=4)
  _, batch = next(iter(episodes.episode_dataset(images, cfg, seed=3)))
  assert batch.support_images.shape == (4, 10, 28, 28, 1)
  assert batch.query_images.shape == (4, 15, 28, 28, 1)
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


def test_labels_are_a_fresh_permutation_per_task(omniglot_test):
  """Label 0 is not tied to the smallest class index."""
  images, _ = omniglot_test
  cfg = config_lib.EpisodeConfig(5, 1, 1, 1)
  ranks = []
  for _, task in episodes.episode_dataset(images, cfg, seed=0, num_steps=40, batched=False):
    classes = [c for c, _ in identify(images, task.support_images.numpy())]
    ranks.append(int(np.argsort(np.argsort(classes))[0]))
  assert len(set(ranks)) == 5


def test_episodes_are_a_pure_function_of_seed_and_step(omniglot_test):
  images, _ = omniglot_test
  cfg = config_lib.EpisodeConfig(5, 1, 2, 2)
  first = list(episodes.episode_dataset(images, cfg, seed=1, num_steps=3))
  resumed = list(episodes.episode_dataset(images, cfg, seed=1, start_step=2, num_steps=1))
  np.testing.assert_array_equal(first[2][1].query_images.numpy(), resumed[0][1].query_images.numpy())
  other = list(episodes.episode_dataset(images, cfg, seed=2, num_steps=1))
  assert not np.array_equal(first[0][1].query_images.numpy(), other[0][1].query_images.numpy())


@pytest.mark.parametrize("way, shot, query, message", [
    (1693, 1, 1, "larger than the 1692 classes"),
    (5, 10, 11, "exceeds the 20 examples per class"),
])
def test_impossible_episodes_are_refused(omniglot_test, way, shot, query, message):
  with pytest.raises(config_lib.ConfigError, match=message):
    episodes.episode_dataset(omniglot_test[0], config_lib.EpisodeConfig(way, shot, query, 1), 0)


@pytest.mark.parametrize("field", ["num_ways", "num_shots", "num_queries", "meta_batch_size"])
def test_non_positive_counts_are_refused(field):
  with pytest.raises(config_lib.ConfigError, match=f"{field} must be a positive integer, got 0"):
    config_lib.EpisodeConfig(**{field: 0})


def write_zip(path, members):
  import zipfile
  with zipfile.ZipFile(path, "w") as archive:
    for name, data in members.items():
      archive.writestr(name, data)


def test_bad_omniglot_files_get_clear_errors(tmp_path):
  with pytest.raises(config_lib.ConfigError, match="does not exist"):
    omniglot.load(str(tmp_path / "missing"), "test", str(tmp_path))
  (tmp_path / "splits" / "vinyals").mkdir(parents=True)
  (tmp_path / "splits" / "vinyals" / "test.txt").write_text("Atlantean/character01/rot000\n")
  write_zip(tmp_path / "images_background.zip", {"readme.txt": "no images"})
  write_zip(tmp_path / "images_evaluation.zip", {"readme.txt": "no images"})
  with pytest.raises(config_lib.ConfigError, match="official Omniglot archive layout"):
    omniglot.load(str(tmp_path), "test", str(tmp_path / "cache"))
  (tmp_path / "splits" / "vinyals" / "test.txt").write_text("Atlantean/character01/rot045\n")
  with pytest.raises(config_lib.ConfigError, match="test.txt:1"):
    omniglot.load(str(tmp_path), "test", str(tmp_path / "cache"))


def test_split_naming_an_absent_class_is_refused(tmp_path, omniglot_test):
  import shutil
  from conftest import OMNIGLOT_DIR, CACHE_DIR
  for archive in omniglot.ARCHIVES:
    shutil.copy(f"{OMNIGLOT_DIR}/{archive}.zip", tmp_path)
  (tmp_path / "splits" / "vinyals").mkdir(parents=True)
  (tmp_path / "splits" / "vinyals" / "test.txt").write_text(
      "Angelic/character01/rot000\nKlingon/character99/rot090\n")
  with pytest.raises(config_lib.ConfigError, match=r"test.txt:2 names Klingon/character99"):
    omniglot.load(str(tmp_path), "test", CACHE_DIR)


def test_a_damaged_cache_is_named_and_rebuilt(tmp_path, capsys):
  from conftest import OMNIGLOT_DIR  # pylint: disable=import-outside-toplevel
  first, _ = omniglot.load(OMNIGLOT_DIR, "test", str(tmp_path))
  (cache,) = tmp_path.iterdir()
  cache.write_bytes(b"not an npz archive")
  again, _ = omniglot.load(OMNIGLOT_DIR, "test", str(tmp_path))
  assert f"warning: the cache {cache} is damaged" in capsys.readouterr().err
  np.testing.assert_array_equal(again, first)
  assert [p.name for p in tmp_path.iterdir()] == [cache.name]  # rebuilt in place, no leftovers
