"""Checkpoints found by listing the folder, restored newest-good-first, older formats read."""
import os

import tensorflow as tf

from metadropout_tf import checkpoints


def saved(directory, steps, **extra):
  """Saves a checkpoint of one variable (value = step) per step; returns the variable."""
  value = tf.Variable(0.0)
  checkpoint = tf.train.Checkpoint(value=value, **extra)
  manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=5,
                                       checkpoint_name=checkpoints.PREFIX)
  for step in steps:
    value.assign(float(step))
    manager.save(checkpoint_number=step)
  return value


def test_the_files_on_disk_decide_not_the_index_file(tmp_path):
  directory = str(tmp_path)
  saved(directory, [2, 4])
  os.remove(os.path.join(directory, "checkpoint"))
  assert checkpoints.steps_on_disk(directory) == [4, 2]
  value = tf.Variable(-1.0)
  _, restored = checkpoints.restore_newest(tf.train.Checkpoint(value=value), directory, 3)
  assert restored.endswith("ckpt-4") and float(value) == 4.0


def test_a_damaged_newest_checkpoint_is_moved_aside_and_the_previous_one_restored(tmp_path,
                                                                                  capsys):
  directory = str(tmp_path)
  saved(directory, [2, 4])
  data = [n for n in os.listdir(directory) if n.startswith("ckpt-4.data")][0]
  open(os.path.join(directory, data), "wb").write(b"garbage")
  value = tf.Variable(-1.0)
  _, restored = checkpoints.restore_newest(tf.train.Checkpoint(value=value), directory, 3)
  assert restored.endswith("ckpt-2") and float(value) == 2.0
  assert "ckpt-4" in capsys.readouterr().err
  assert checkpoints.steps_on_disk(directory) == [2]


def test_a_checkpoint_without_a_newer_entry_reads_through_the_readable_part(tmp_path):
  """A checkpoint of an earlier version (no config entry) still resumes; the manager then
  saves the whole, config included."""
  directory = str(tmp_path)
  saved(directory, [2])
  value = tf.Variable(-1.0)
  whole = tf.train.Checkpoint(value=value, config=tf.Variable("{}"))
  manager, restored = checkpoints.restore_newest(whole, directory, 3,
                                                 tf.train.Checkpoint(value=value))
  assert restored.endswith("ckpt-2") and float(value) == 2.0
  manager.save(checkpoint_number=3)
  names = dict(tf.train.list_variables(os.path.join(directory, "ckpt-3")))
  assert "config/.ATTRIBUTES/VARIABLE_VALUE" in names


def test_after_a_flipped_bit_in_the_newest_checkpoint_the_next_save_works(tmp_path):
  """The damaged checkpoint is read through `readable`, a Checkpoint of its own: the deferred
  restore its failed read leaves behind (of save_counter) never reaches the saving one."""
  directory = str(tmp_path)
  saved(directory, [2, 4])
  data = [n for n in os.listdir(directory) if n.startswith("ckpt-4.data")][0]
  content = bytearray(open(os.path.join(directory, data), "rb").read())
  content[len(content) // 2] ^= 0x10
  open(os.path.join(directory, data), "wb").write(bytes(content))
  value = tf.Variable(-1.0)
  manager, restored = checkpoints.restore_newest(tf.train.Checkpoint(value=value), directory, 3,
                                                 tf.train.Checkpoint(value=value))
  assert restored.endswith("ckpt-2") and float(value) == 2.0
  value.assign(5.0)
  manager.save(checkpoint_number=5)
  assert checkpoints.steps_on_disk(directory) == [5, 2]


def test_data_left_without_its_index_by_a_kill_is_removed(tmp_path, capsys):
  """A kill between the manager's deletion of an old checkpoint's index and of its data."""
  directory = str(tmp_path)
  saved(directory, [2, 4])
  os.remove(os.path.join(directory, "ckpt-2.index"))
  value = tf.Variable(-1.0)
  _, restored = checkpoints.restore_newest(tf.train.Checkpoint(value=value), directory, 3)
  assert restored.endswith("ckpt-4")
  assert sorted(os.listdir(directory)) == ["checkpoint", "ckpt-4.data-00000-of-00001",
                                           "ckpt-4.index"]
  assert "removed ckpt-2.data-00000-of-00001" in capsys.readouterr().err
