"""Accuracies and their 95% intervals: numpy only, so that scripts comparing results need no
TensorFlow."""
import numpy as np


def confidence_interval(accuracies):
  """The paper's 95% interval half-width: 1.96 * std / sqrt(n)."""
  accuracies = np.asarray(accuracies, np.float64)
  return 1.96 * accuracies.std() / np.sqrt(len(accuracies))


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
