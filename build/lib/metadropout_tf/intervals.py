"""Accuracies and their 95% intervals: numpy only, so that scripts comparing results need no
TensorFlow."""
import numpy as np


def confidence_interval(accuracies):
  """The paper's 95% interval half-width: 1.96 * std / sqrt(n)."""
  accuracies = np.asarray(accuracies, np.float64)
  return 1.96 * accuracies.std() / np.sqrt(len(accuracies))


# Student's t at 97.5% for 1..30 degrees of freedom: the 95% interval over a few training seeds.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def across_seeds(values):
  """(mean, 95% t-interval half-width) of one number per training seed (n >= 2).

  This interval covers retraining (initial weights, training episodes and noise),
  which moves a model by more than the per-episode interval shows.
  """
  values = np.asarray(values, np.float64)
  if len(values) < 2:
    raise ValueError(f"an interval over seeds needs at least 2 seeds, got {len(values)}")
  degrees = len(values) - 1
  t = T_975[degrees - 1] if degrees <= len(T_975) else 1.96 + 2.37 / degrees  # within 0.002
  return float(values.mean()), float(t * values.std(ddof=1) / np.sqrt(len(values)))


def accuracy(probs, labels):
  """% of queries whose most probable class is their label."""
  return 100.0 * float(np.mean(np.argmax(np.asarray(probs), -1) == np.asarray(labels)))


def summary(accuracies):
  return {"accuracy": float(np.mean(accuracies)), "ci95": float(confidence_interval(accuracies)),
          "num_episodes": len(accuracies), "accuracies": accuracies}


EPISODE_KEYS = ("split", "way", "shot", "query", "num_episodes", "seed")


def paired_difference(a, b):
  """(mean of a - b, its 95% half-width) over the episodes two meta-test results share.

  Both models met the same episodes (evaluate.py's seed), so the per-episode differences give a
  tighter interval than the two results' own intervals: hard episodes are hard for both. Like
  those, it covers the choice of test episodes, not the spread between training runs.
  """
  differing = [key for key in EPISODE_KEYS if a.get(key) != b.get(key)]
  if differing:
    raise ValueError(f"the results were meta-tested on different episodes (differing: "
                     f"{', '.join(differing)}): evaluate both with the same --seed, split and "
                     "episode settings")
  differences = np.subtract(a["accuracies"], b["accuracies"], dtype=np.float64)
  return float(differences.mean()), float(confidence_interval(differences))


def seeds_summary(results, baseline):
  """Across-seed statistics of meta-test results {label: {seed: evaluate.py's result}}.

  Per label: each seed's accuracy with its per-episode interval, and the mean over seeds with a
  95% t-interval over seeds. Per label other than `baseline`: each seed's paired difference
  against the baseline's model of the same seed (per-episode interval), and the mean of those
  differences with a t-interval over seeds. Every result must share the baseline's episodes.
  """
  summary = {"baseline": baseline, "models": {}}
  for label, by_seed in results.items():
    seeds = sorted(by_seed)
    model = {"seeds": seeds,
             "per_seed": {str(s): {"accuracy": by_seed[s]["accuracy"], "ci95": by_seed[s]["ci95"]}
                          for s in seeds}}
    if len(seeds) >= 2:
      model["mean"], model["across_seeds_ci95"] = across_seeds(
          [by_seed[s]["accuracy"] for s in seeds])
    if label != baseline:
      shared = [s for s in seeds if s in results[baseline]]
      differences = {s: paired_difference(by_seed[s], results[baseline][s]) for s in shared}
      model["difference"] = {"per_seed": {str(s): {"mean": m, "ci95": c}
                                          for s, (m, c) in differences.items()}}
      if len(shared) >= 2:
        mean, ci95 = across_seeds([m for m, _ in differences.values()])
        model["difference"].update(mean=mean, across_seeds_ci95=ci95)
    summary["models"][label] = model
  return summary
