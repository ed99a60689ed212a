"""Checkpoints found by listing the folder, restored newest-first, damaged ones skipped.

TensorFlow's `checkpoint` index file is a convenience, not the truth: if it is
deleted or garbled, `CheckpointManager` sees no checkpoint and training would
silently restart at step 0 and overwrite the later ones. Here the `ckpt-N.index`
files on disk decide; the newest that reads back completely wins, and the index
file is rewritten to match before the manager reads it.
"""
import os
import re
import shutil
import sys
import time

import tensorflow as tf
from metadropout_tf import errors

PREFIX = "ckpt"
_INDEX = re.compile(rf"^{PREFIX}-(\d+)\.index$")
_DATA = re.compile(rf"^{PREFIX}-(\d+)\.data-\d+-of-\d+$")


def steps_on_disk(directory):
  """The N of every `ckpt-N.index` in `directory`, newest first."""
  if not os.path.isdir(directory):
    return []
  return sorted((int(m[1]) for m in map(_INDEX.match, os.listdir(directory)) if m), reverse=True)


def saved_tensors(directory, step):
  """{name: numpy value} of every weight, Adam slot and the step saved in `ckpt-step` (not the
  checkpoint's bookkeeping), for comparing two runs' checkpoints."""
  reader = tf.train.load_checkpoint(os.path.join(directory, f"{PREFIX}-{step}"))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if name.startswith(("weights/", "optimizer/", "step/"))}


def restore_newest(checkpoint, directory, max_to_keep, readable=None):
  """Restores `checkpoint` from the newest readable `ckpt-N` and returns its manager.

  readable: the part of `checkpoint` that every checkpoint must hold (default all of it), so
  that a checkpoint saved without a newer entry (the run's config) still reads.

  Leftover `*_temp*` folders of an interrupted save and data files without their index are
  removed; a checkpoint
  that fails to read (truncated, corrupt, missing shards, other variables) is
  named in a warning, the previous one is tried, and once one reads the damaged
  ones are moved into `damaged/`. Returns (manager, restored
  path or None). Raises errors.NoUsableCheckpointError if checkpoints exist and none reads.
  """
  os.makedirs(directory, exist_ok=True)
  for name in os.listdir(directory):
    if "_temp" in name:
      shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
  steps = steps_on_disk(directory)
  for name in os.listdir(directory):  # a kill while the manager deleted an old checkpoint, or
    # before a save wrote its index, leaves data without an index: never a usable checkpoint
    orphan = _DATA.match(name)
    if orphan and int(orphan[1]) not in steps:
      os.remove(os.path.join(directory, name))
      print(f"note: removed {name}, left without its index by an interrupted save or deletion",
            file=sys.stderr, flush=True)
  restored, failures = None, []
  for step in steps:
    path = os.path.join(directory, f"{PREFIX}-{step}")
    try:
      (readable or checkpoint).read(path).assert_existing_objects_matched()
    except Exception as error:  # pylint: disable=broad-except  (TF's reader raises OpError,
      # ValueError, AssertionError or IndexError by damage: any of them means "does not read")
      reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
      failures.append(step)
      print(f"warning: checkpoint {path} is damaged ({reason}); trying the previous one",
            file=sys.stderr, flush=True)
      continue
    restored = path
    break
  if steps and restored is None:
    raise errors.NoUsableCheckpointError(
        f"none of the checkpoints in {directory} reads back (steps {failures}): "
        "restore a good copy, or move them away to start over")
  for step in failures:  # out of the way of the manager and of the save at that step
    print(f"warning: moved the damaged ckpt-{step} to {_move_aside(directory, step)}",
          file=sys.stderr, flush=True)
  usable = [os.path.join(directory, f"{PREFIX}-{s}") for s in steps_on_disk(directory)[::-1]]
  if usable:  # the manager reads the index file: make it say what is on disk
    # Without timestamps newer than last_preserved_timestamp the manager would keep every
    # checkpoint of earlier processes forever; with them it keeps the newest max_to_keep.
    now = time.time()
    tf.compat.v1.train.update_checkpoint_state(
        directory, usable[-1], all_model_checkpoint_paths=usable,
        all_model_checkpoint_timestamps=[now - len(usable) + i for i in range(len(usable))],
        last_preserved_timestamp=0.0)
  elif os.path.exists(os.path.join(directory, "checkpoint")):
    os.remove(os.path.join(directory, "checkpoint"))
  manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep,
                                       checkpoint_name=PREFIX)
  return manager, restored


def _move_aside(directory, step):
  """Moves the files of `ckpt-step` into directory/damaged/ (kept for inspection, out of the way)."""
  damaged = os.path.join(directory, "damaged")
  os.makedirs(damaged, exist_ok=True)
  for name in os.listdir(directory):
    if name.startswith(f"{PREFIX}-{step}."):
      os.replace(os.path.join(directory, name), os.path.join(damaged, name))
  return damaged
