"""Rank the variant comparison's results and count how its pairs agree with the paper's order.

  python experiments/compare_with_paper.py    # results/omniglot_5way1shot_2000/<variant>.json
  python experiments/compare_with_paper.py --results_dir=runs/omniglot_5way1shot_2000
      # <variant>/meta_test_test.json, as experiments/omniglot_5way_variants.sh leaves them
  python experiments/compare_with_paper.py --results_dir=results/omniglot_5way1shot_2000_table2

Every variant of metadropout_tf/variants.py found in the directory is read, so the same command
serves Tables 1 and 3 and Table 2. Two rows are level ("~") when their accuracies are apart by no
more than the larger 95% interval, otherwise ordered (">"); the paper's Omniglot 20-way 1-shot
rows get the same rule.
"""
import itertools
import os
import sys

from absl import app
from absl import flags

from metadropout_tf import files
from metadropout_tf import variants

flags.DEFINE_string("results_dir", "results/omniglot_5way1shot_2000",
                    "directory of <variant>.json or <variant>/meta_test_test.json files")
FLAGS = flags.FLAGS

# variant: (accuracy, 95% interval) in the paper, Omniglot 20-way 1-shot (Tables 1-3).
PAPER = {name: variant.paper_result("omniglot_20way_1shot")
         for name, variant in variants.VARIANTS.items()}


def order(a, b):
  """+1 if a is above b, -1 if below, 0 if level."""
  gap = a[0] - b[0]
  return 0 if abs(gap) <= max(a[1], b[1]) else (1 if gap > 0 else -1)


def ranking(rows):
  """'a (x%) > b (y%) ~ ...' from the best row down."""
  names = sorted(rows, key=lambda v: -rows[v][0])
  text = f"{names[0]} ({rows[names[0]][0]:.2f}%)"
  for above, below in zip(names, names[1:]):
    text += f" {'~>'[order(rows[above], rows[below]) != 0]} {below} ({rows[below][0]:.2f}%)"
  return text


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  measured = {}
  for variant in PAPER:
    for path in (os.path.join(FLAGS.results_dir, f"{variant}.json"),
                 os.path.join(FLAGS.results_dir, variant, "meta_test_test.json")):
      if os.path.exists(path):
        try:
          result = files.read_json(path, required=("accuracy", "ci95"))
        except ValueError as error:
          sys.exit(f"error: {error}: rerun evaluate.py for {variant}, or move the file out of "
                   "--results_dir")
        measured[variant] = (result["accuracy"], result["ci95"])
  if len(measured) < 2:
    sys.exit(f"error: fewer than two results in {FLAGS.results_dir}: pass "
             "--results_dir=<a directory of evaluate.py's results, one per variant>")
  verdicts = {}
  for a, b in itertools.combinations(measured, 2):
    paper, here = order(PAPER[a], PAPER[b]), order(measured[a], measured[b])
    if paper == 0:
      verdict = "level in the paper, " + ("level here" if here == 0 else "separated here")
    else:
      verdict = "level here" if here == 0 else "matches" if here == paper else "reversed"
    verdicts.setdefault(verdict, []).append(f"{a}/{b}")
  print("measured:", ranking(measured))
  print("paper:   ", ranking({v: PAPER[v] for v in measured}))
  for verdict, pairs in sorted(verdicts.items()):
    print(f"{len(pairs):3d} {verdict}: {' '.join(pairs)}")


if __name__ == "__main__":
  app.run(main)
