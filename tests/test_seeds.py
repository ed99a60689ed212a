"""The seeds command end to end: trains, meta-tests, resumes, summarises (its intervals are in
test_intervals)."""
import json
import os

import pytest

from helpers import OMNIGLOT_DIR, TFDS_DIR, run


@pytest.mark.slow
def test_seeds_command_trains_evaluates_resumes_and_summarises(tmp_path):
  command = ["experiments/seeds.py", "--preset=presets/quickstart.cfg", "--name=tiny",
             "--variants=maml,metadrop", "--seeds=0,1", "--n_train_iters=2", "--eval_freq=2", "--n_eval_episodes=2",
             "--save_freq=2", "--test_episodes=4", f"--runs_dir={tmp_path / 'runs'}",
             f"--results_dir={tmp_path / 'results'}",
             "--train_flags=--num_filters=4,--query=3,--metabatch=2,--n_steps=1",
             f"--data_flags=--data_dir={OMNIGLOT_DIR},--tfds_data_dir={TFDS_DIR}"]
  first = run(*command, timeout=1200)
  assert first.returncode == 0, first.stderr[-3000:]
  folder = tmp_path / "results" / "tiny"
  per_seed = {(label, seed): json.loads((folder / label / f"seed_{seed}.json").read_text())
              for label in ("maml", "metadrop") for seed in (0, 1)}
  assert all(r["num_episodes"] == 4 for r in per_seed.values())
  # Each result keeps its run's held-out points, so the figures need no run directory.
  for result in per_seed.values():
    assert result["held_out"]["split"] == "test"
    [(step, accuracy, ci95)] = result["held_out"]["points"]
    assert step == 2 and 0 <= accuracy <= 100 and ci95 >= 0
  # Each seed trained its own model, and every model met the same episodes.
  assert per_seed["maml", 0]["accuracies"] != per_seed["maml", 1]["accuracies"]
  summary = json.loads((folder / "seeds.json").read_text())
  maml, metadrop = summary["models"]["maml"], summary["models"]["metadrop"]
  assert maml["mean"] == pytest.approx((per_seed["maml", 0]["accuracy"] +
                                        per_seed["maml", 1]["accuracy"]) / 2)
  assert metadrop["difference"]["per_seed"]["1"]["mean"] == pytest.approx(
      per_seed["metadrop", 1]["accuracy"] - per_seed["maml", 1]["accuracy"])
  assert "maml: " in first.stdout and "metadrop - maml: " in first.stdout
  stamps = {p: os.path.getmtime(p) for p in (tmp_path / "runs").rglob("ckpt-*.index")}
  again = run(*command, timeout=600)  # everything is done: nothing is retrained or re-tested
  assert again.returncode == 0, again.stderr[-3000:]
  assert stamps == {p: os.path.getmtime(p) for p in (tmp_path / "runs").rglob("ckpt-*.index")}
  assert json.loads((folder / "seeds.json").read_text())["models"] == summary["models"]


@pytest.mark.slow
def test_seeds_command_names_an_unknown_variant(tmp_path):
  result = run("experiments/seeds.py", "--preset=presets/quickstart.cfg", "--name=x",
               "--variants=maml,nodrop", f"--results_dir={tmp_path}")
  assert result.returncode != 0
  assert result.stderr.strip().splitlines()[-1].startswith(
      "error: --variants: unknown variant 'nodrop'")
