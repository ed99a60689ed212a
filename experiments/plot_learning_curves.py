"""Held-out accuracy against meta-iterations, from runs' TensorBoard logs, as PNG and JSON.

  python experiments/plot_learning_curves.py --output_dir=results/omniglot_5way1shot_2000_curves \
      maml_exact=runs/omniglot_5way1shot_2000/maml \
      maml_authors_tf1=runs/omniglot_5way1shot_2000_authors_tf1/maml

Each LABEL=RUN_DIR gives OUTPUT_DIR/LABEL.png (that run's curve); all runs together go to
OUTPUT_DIR/curves.png and their points to OUTPUT_DIR/curves.json. The points are what
train.py logged with --eval_freq (the README's runs: 100 fixed episodes every 250 iterations).
"""
import os
import sys

from absl import app
from absl import flags

from metadropout_tf import console  # before TensorFlow loads
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

from metadropout_tf import files  # pylint: disable=g-import-not-at-top
from metadropout_tf import run_labels  # pylint: disable=g-import-not-at-top
from metadropout_tf import run_dir  # pylint: disable=g-import-not-at-top

flags.DEFINE_string("output_dir", None, "where the PNGs and curves.json go")
flags.DEFINE_string("split", "test", "the held-out split the runs logged (their --eval_split)")
flags.mark_flag_as_required("output_dir")
FLAGS = flags.FLAGS


def held_out_curve(path, split):
  """RunDir.held_out_curve of the run directory `path`; ValueError if it logged none."""
  run = run_dir.RunDir(path)
  points = run.held_out_curve(split)
  if not points:
    raise ValueError(f"no {run_dir.held_out_tag(split)} in {run.logs}: was it trained with "
                     "--eval_freq?")
  return points


def plot(curves, path, title):
  figure, axis = plt.subplots(figsize=(7.5, 4))
  for label, points in curves.items():
    steps, accuracies, intervals = zip(*points)
    errors = None if None in intervals else intervals
    axis.errorbar(steps, accuracies, yerr=errors, marker="o", capsize=3, label=label)
  axis.set_xlabel("meta-iteration")
  axis.set_ylabel(f"held-out ({FLAGS.split}) accuracy, %")
  axis.set_title(title)
  axis.grid(alpha=0.3)
  axis.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")  # clear of the data
  figure.tight_layout()
  files.write_figure(figure, path)
  plt.close(figure)


def main(argv):
  console.quiet_python_loggers()
  runs = run_labels.parse_or_exit(argv[1:], "RUN_DIR")
  try:
    curves = {label: held_out_curve(path, FLAGS.split) for label, path in runs.items()}
  except ValueError as error:
    sys.exit(f"error: {error}")
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  for label, points in curves.items():
    plot({label: points}, os.path.join(FLAGS.output_dir, f"{label}.png"), label)
  plot(curves, os.path.join(FLAGS.output_dir, "curves.png"), "held-out accuracy during training")
  files.write_json(os.path.join(FLAGS.output_dir, "curves.json"),
                   {label: dict(run_dir=path, points=curves[label])
                    for label, path in runs.items()})
  print(f"wrote {len(curves) + 1} PNGs and curves.json to {FLAGS.output_dir}")


if __name__ == "__main__":
  app.run(main)
