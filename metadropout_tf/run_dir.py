"""A training run's directory: every path in it, claiming and locking it, and reading it back.

  config.json     the defining `RunConfig` (a resume must match it)
  schedule.json   how long and how often, as the last start asked (free to change)
  checkpoints/    weights, Adam state, step and the config (`checkpoints`)
  logs/           TensorBoard events, with the held-out points
  lock            the one writing process (host PID)
  saved_model/    the export, for meta-testing (`export`)
  meta_test_<split>.json   evaluate.py's results

  python -m metadropout_tf.run_dir --restore_config RUN_DIR

writes a lost or damaged config.json back from the newest checkpoint (or the SavedModel).
"""
import dataclasses
import glob
import json
import os
import sys

import tensorflow as tf

from metadropout_tf import checkpoints
from metadropout_tf import config as config_lib
from metadropout_tf import errors
from metadropout_tf import export
from metadropout_tf import files
from metadropout_tf import meta_learner
from metadropout_tf import network

MAX_CHECKPOINTS = 3
# The checkpoint's key of the config's JSON text (`tf.train.Checkpoint(config=...)`).
CONFIG_KEY = "config/.ATTRIBUTES/VARIABLE_VALUE"


class RunDir:
  """The folder of one training run (`path`), or of one worker of a multi-worker run."""

  def __init__(self, path):
    self.path = path
    self.config_path = os.path.join(path, "config.json")
    self.schedule_path = os.path.join(path, "schedule.json")
    self.checkpoints = os.path.join(path, "checkpoints")
    self.logs = os.path.join(path, "logs")
    self.lock_path = os.path.join(path, "lock")
    self.saved_model = os.path.join(path, "saved_model")

  def __repr__(self):
    return f"RunDir({self.path!r})"

  def meta_test_result(self, split):
    """evaluate.py's default results file for meta-test classes `split`."""
    return os.path.join(self.path, f"meta_test_{split}.json")

  def worker(self, task_id):
    """The folder a non-chief worker of a multi-worker run writes (it trains alike)."""
    return RunDir(os.path.join(self.path, f"worker-{task_id}"))

  def lock(self):
    """Holds the lock while the block runs: one writer per run (a second is refused)."""
    os.makedirs(self.path, exist_ok=True)
    return files.lock_file(self.lock_path, self.path,
                           refusal="wait for it, stop it, or use another --savedir")

  def checkpoint_steps(self):
    return checkpoints.steps_on_disk(self.checkpoints)

  def load_config(self):
    """The run's RunConfig; a missing or damaged config.json is a ConfigError saying how to
    restore it."""
    try:
      return config_lib.load(self.config_path)
    except errors.ConfigError as error:
      if not self.checkpoint_steps() and not os.path.isdir(self.saved_model):
        raise
      raise errors.ConfigError(
          f"{self.path} holds a run but its config.json cannot be used ({error}): restore it "
          f"with `python -m metadropout_tf.run_dir --restore_config {self.path}`") from None

  def claim(self, run_config, schedule):
    """Writes `run_config` and `schedule` here, or checks the config equals the one here.

    A directory without checkpoints has nothing to protect: a start that failed
    early never blocks the corrected command. One with checkpoints but no
    readable config is refused (never claimed by a config that may differ).
    """
    if self.checkpoint_steps():
      changed = self.load_config().differences(run_config)
      if changed:
        raise errors.ConfigError(
            f"{self.path} holds a run with other settings ({', '.join(changed)}): rerun with "
            "its settings to resume, or use a new --savedir")
    config_lib.save(self.config_path, run_config)
    files.write_json(self.schedule_path, dataclasses.asdict(schedule))

  def restore_checkpoint(self, writable, readable):
    """Restores `readable` (a tf.train.Checkpoint) from the newest good checkpoint; returns
    (a CheckpointManager saving `writable`, the restored path or None)."""
    return checkpoints.restore_newest(writable, self.checkpoints, MAX_CHECKPOINTS, readable)

  def restore_learner(self):
    """(MetaLearner at the run's newest good checkpoint, its RunConfig), for figures and
    analyses."""
    run_config = self.load_config()
    model = network.Conv4(run_config.model)
    learner = meta_learner.MetaLearner(model, run_config.meta, run_config.episodes)
    weights = tf.train.Checkpoint(weights=learner.params)
    _, restored = checkpoints.restore_newest(weights, self.checkpoints, MAX_CHECKPOINTS)
    if restored is None:
      raise errors.ConfigError(f"no checkpoint in {self.checkpoints}: train the run first")
    return learner, run_config

  def held_out_points(self, split, statistic="accuracy"):
    """{step: held-out accuracy %} logged in logs/ (a resumed run's repeats of a step agree,
    as the evaluation is seeded); statistic="ci95": its 95% interval over the episodes."""
    points = {}
    for path in sorted(glob.glob(os.path.join(self.logs, "events.out.tfevents.*"))):
      for event in tf.compat.v1.train.summary_iterator(path):
        for value in event.summary.value:
          if value.tag == held_out_tag(split, statistic):
            points[event.step] = float(tf.make_ndarray(value.tensor))
    return points

  def held_out_curve(self, split):
    """[(step, accuracy %, its 95% interval or None)] of the held-out points on `split`, by
    step (runs of earlier versions logged no interval)."""
    intervals = self.held_out_points(split, "ci95")
    return [(step, accuracy, intervals.get(step))
            for step, accuracy in sorted(self.held_out_points(split).items())]

  def restore_config(self):
    """Writes config.json back from the newest checkpoint that carries it, else from the
    SavedModel; returns where it came from."""
    for step in self.checkpoint_steps():
      prefix = os.path.join(self.checkpoints, f"{checkpoints.PREFIX}-{step}")
      try:
        text = tf.train.load_checkpoint(prefix).get_tensor(CONFIG_KEY)
        run_config = config_lib.RunConfig.from_dict(json.loads(text))
      except Exception:  # pylint: disable=broad-except  (damaged, or saved without the config)
        continue
      config_lib.save(self.config_path, run_config)
      return prefix
    if os.path.isdir(self.saved_model):
      _, run_config = export.load(self.saved_model)
      config_lib.save(self.config_path, run_config)
      return self.saved_model
    raise errors.ConfigError(f"no checkpoint or SavedModel in {self.path} carries the run's "
                             "config: rerun its train.py command with a new --savedir")


def held_out_tag(split, statistic="accuracy"):
  """The TensorBoard tag of the held-out accuracy on `split` (or of its "ci95")."""
  return f"held_out_{split}/{statistic}"


def main(argv):
  if len(argv) != 3 or argv[1] != "--restore_config":
    sys.exit("usage: python -m metadropout_tf.run_dir --restore_config RUN_DIR")
  run = RunDir(argv[2])
  try:
    source = run.restore_config()
  except errors.ConfigError as error:
    sys.exit(f"error: {error}")
  print(f"restored {run.config_path} from {source}")


if __name__ == "__main__":
  main(sys.argv)
