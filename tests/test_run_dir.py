"""The run directory: its paths, claiming it, and a lost config.json restored, never re-claimed."""
import json
import os
import shutil

import pytest

from helpers import last_line, run, train
from metadropout_tf import config as config_lib
from metadropout_tf import errors
from metadropout_tf import run_dir
from metadropout_tf import training


def test_every_path_of_a_run_is_inside_its_folder(tmp_path):
  run = run_dir.RunDir(str(tmp_path))
  paths = [run.config_path, run.schedule_path, run.checkpoints, run.logs, run.lock_path,
           run.saved_model, run.meta_test_result("test"), run.worker(1).path]
  assert all(os.path.dirname(path) == str(tmp_path) for path in paths)
  assert len(set(paths)) == len(paths)


def with_checkpoint_files(run):
  """A run directory that looks trained to the claim (a checkpoint's index file on disk)."""
  os.makedirs(run.checkpoints)
  open(os.path.join(run.checkpoints, "ckpt-2.index"), "w").close()


def test_a_claim_writes_the_config_and_the_schedule_and_refuses_other_settings(tmp_path):
  run = run_dir.RunDir(str(tmp_path))
  schedule = training.Schedule(num_iterations=10, save_every=5)
  run.claim(config_lib.RunConfig(seed=1), schedule)
  assert run.load_config() == config_lib.RunConfig(seed=1)
  assert json.load(open(run.schedule_path))["num_iterations"] == 10
  with_checkpoint_files(run)
  run.claim(config_lib.RunConfig(seed=1), training.Schedule(num_iterations=20))  # may change
  assert json.load(open(run.schedule_path))["num_iterations"] == 20
  with pytest.raises(errors.ConfigError, match=r"holds a run with other settings \(seed\)"):
    run.claim(config_lib.RunConfig(seed=2), schedule)


@pytest.mark.parametrize("damage", ["deleted", "garbled"])
def test_checkpoints_without_a_readable_config_are_refused_with_the_way_to_restore_it(
    tmp_path, damage):
  run = run_dir.RunDir(str(tmp_path))
  run.claim(config_lib.RunConfig(), training.Schedule())
  with_checkpoint_files(run)
  if damage == "deleted":
    os.remove(run.config_path)
  else:
    open(run.config_path, "w").write("{not json")
  with pytest.raises(errors.ConfigError, match=r"holds a run but its config.json cannot be used "
                     r".*python -m metadropout_tf.run_dir --restore_config"):
    run.claim(config_lib.RunConfig(seed=1), training.Schedule())
  assert not os.path.exists(run.config_path) or open(run.config_path).read() == "{not json"


def test_nothing_to_restore_a_config_from_is_one_clear_error(tmp_path):
  with pytest.raises(errors.ConfigError, match="no checkpoint or SavedModel .* carries"):
    run_dir.RunDir(str(tmp_path)).restore_config()


@pytest.mark.slow
def test_a_deleted_config_is_never_reclaimed_and_restores_from_the_checkpoint(finished_run,
                                                                             tmp_path):
  savedir = str(tmp_path / "run")
  shutil.copytree(finished_run, savedir)
  folder = run_dir.RunDir(savedir)
  original = open(folder.config_path).read()
  os.remove(folder.config_path)
  for other in ("--seed=1", "--num_filters=16"):  # neither resumes nor rewrites the config
    result = train(savedir, other, iters=6)
    assert result.returncode != 0
    assert "config.json cannot be used" in last_line(result) and "--restore_config" in last_line(
        result), result.stderr[-1500:]
    assert not os.path.exists(folder.config_path)
  restored = run("-m", "metadropout_tf.run_dir", "--restore_config", savedir)
  assert restored.returncode == 0, restored.stderr[-1500:]
  assert "ckpt-4" in restored.stdout
  assert json.load(open(folder.config_path)) == json.loads(original)
  resumed = train(savedir, iters=6)
  assert resumed.returncode == 0, resumed.stderr[-1500:]
  assert "resumed from" in resumed.stdout and "at step 4" in resumed.stdout
