"""Intervals: per episode (1.96 s / sqrt(n)), paired on the same episodes, and over seeds (t)."""
import numpy as np
import pytest

from metadropout_tf import intervals


def test_the_episode_interval_is_the_normal_one():
  values = np.array([90.0, 95.0, 100.0, 85.0])
  assert intervals.confidence_interval(values) == pytest.approx(1.96 * values.std() / 2)
  assert intervals.summary(list(values)) == {"accuracy": 92.5, "ci95": pytest.approx(
      1.96 * values.std() / 2), "num_episodes": 4, "accuracies": list(values)}


def test_the_paired_difference_is_taken_episode_by_episode():
  a, b = {"accuracies": [90.0, 80.0, 70.0]}, {"accuracies": [91.0, 82.0, 73.0]}
  mean, half_width = intervals.paired_difference(b, a)
  assert mean == pytest.approx(2.0)
  assert half_width == pytest.approx(1.96 * np.std([1.0, 2.0, 3.0]) / np.sqrt(3))


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
