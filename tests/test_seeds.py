"""Several seeds per claim: the interval over seeds, the summary, and the command end to end."""
import json
import os

import numpy as np
import pytest

from conftest import OMNIGLOT_DIR, TFDS_DIR, run
from metadropout_tf import intervals


def test_across_seeds_is_the_t_interval():
  mean, half_width = intervals.across_seeds([90.0, 92.0, 94.0])
  assert mean == pytest.approx(92.0)
  assert half_width == pytest.approx(4.303 * 2.0 / np.sqrt(3))  # t(0.975, 2) * s / sqrt(n)
  assert intervals.across_seeds(np.arange(50.0))[1] == pytest.approx(
      2.010 * np.std(np.arange(50.0), ddof=1) / np.sqrt(50), rel=1e-3)


def test_across_seeds_needs_two_seeds():
  with pytest.raises(ValueError, match="at least 2 seeds, got 1"):
    intervals.across_seeds([93.0])


def result(accuracies, seed=0):
  return {**intervals.summary(list(accuracies)), "split": "test", "way": 5, "shot": 1,
          "query": 15, "seed": seed}


def test_seeds_summary_pairs_each_seed_with_the_baselines_same_seed():
  rng = np.random.default_rng(0)
  base = {s: result(rng.uniform(80, 100, 50)) for s in (0, 1, 2)}
  other = {s: result(np.asarray(base[s]["accuracies"]) + 1.0 + s) for s in (0, 1, 2)}
  summary = intervals.seeds_summary({"maml": base, "metadrop": other}, "maml")
  differences = summary["models"]["metadrop"]["difference"]
  assert [differences["per_seed"][str(s)]["mean"] for s in (0, 1, 2)] == pytest.approx([1, 2, 3])
  assert differences["mean"] == pytest.approx(2.0)
  assert differences["across_seeds_ci95"] == pytest.approx(4.303 / np.sqrt(3))
  maml = summary["models"]["maml"]
  assert maml["mean"] == pytest.approx(np.mean([base[s]["accuracy"] for s in (0, 1, 2)]))
  assert "difference" not in maml


def test_seeds_summary_refuses_results_on_other_episodes():
  with pytest.raises(ValueError, match="different episodes"):
    intervals.seeds_summary({"maml": {0: result([90.0], seed=0)},
                             "metadrop": {0: result([91.0], seed=1)}}, "maml")


@pytest.mark.slow
def test_seeds_command_trains_evaluates_resumes_and_summarises(tmp_path):
  command = ["experiments/seeds.py", "--preset=presets/quickstart.cfg", "--name=tiny",
             "--variants=maml,metadrop", "--seeds=0,1", "--n_train_iters=2", "--eval_freq=0",
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


def test_seeds_command_names_an_unknown_variant(tmp_path):
  result = run("experiments/seeds.py", "--preset=presets/quickstart.cfg", "--name=x",
               "--variants=maml,nodrop", f"--results_dir={tmp_path}")
  assert result.returncode != 0
  assert result.stderr.strip().splitlines()[-1].startswith(
      "error: --variants: unknown variant 'nodrop'")
