"""Paired differences between meta-test results on the same episodes, with 95% intervals.

  python experiments/compare_runs.py \
      exact=results/omniglot_5way1shot_2000/maml.json \
      authors_tf1=results/omniglot_5way1shot_2000_authors_tf1/maml.json

Each LABEL=JSON is evaluate.py's result (meta_test_<split>.json, or its copy in results/). For
every pair it prints the mean of the per-episode differences and its 1.96 * std / sqrt(n): "level"
when that interval holds 0. The interval covers the choice of test episodes only; two training
runs of one model can differ by more (see the README's "Which meta-gradient?").
"""
import itertools
import sys

from metadropout_tf import files
from metadropout_tf import intervals
from metadropout_tf import run_labels


def main(argv):
  runs = run_labels.parse_or_exit(argv[1:], "RESULT_JSON", minimum=2)
  results = {}
  for label, path in runs.items():
    try:
      result = files.read_json(path, required=("accuracy", "ci95", "accuracies"))
    except ValueError as error:
      sys.exit(f"error: {error}: pass evaluate.py's meta_test_<split>.json, which holds the "
               "per-episode accuracies")
    results[label] = result
    print(f"{label}: {result['accuracy']:.2f} +- {result['ci95']:.2f}% ({path})")
  for a, b in itertools.combinations(results, 2):
    try:
      mean, ci95 = intervals.paired_difference(results[a], results[b])
    except ValueError as error:
      sys.exit(f"error: {a} and {b}: {error}")
    verdict = "level" if abs(mean) <= ci95 else (f"{a} above" if mean > 0 else f"{b} above")
    print(f"{a} - {b}: {mean:+.2f} +- {ci95:.2f} points, paired over "
          f"{results[a]['num_episodes']} episodes: {verdict}")


if __name__ == "__main__":
  main(sys.argv)
