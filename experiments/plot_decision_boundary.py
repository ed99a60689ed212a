"""Fig. 4 (Appendix B): two classes' last latent features and their decision boundary across the
inner steps, with the perturbed support samples; one row per run (MAML beside meta-dropout).

  python experiments/plot_decision_boundary.py \
      --runs=MAML=runs/maml,Meta-dropout=runs/metadrop --output=results/figures/boundary.png

Each run (restored from its newest checkpoint) adapts to the same meta-test support set of its
way and shot; for classes 0 and 1 of that task, the panels show, after 0, 1, 3 and 5 inner steps,
the queries (dots), the support examples (large markers) and --draws support-pass draws of them
(small crosses), projected as in `figures.boundary_projection` (x: across the boundary).
"""
import sys

from absl import app
from absl import flags

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
import matplotlib

from metadropout_tf import cli
from metadropout_tf import errors
from metadropout_tf import figures
from metadropout_tf import files
from metadropout_tf import inner_loop
from metadropout_tf.config import MetaGradient

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  pylint: disable=g-import-not-at-top

flags.DEFINE_list("runs", None, "LABEL=SAVEDIR of each run")
flags.DEFINE_list("steps", ["0", "1", "3", "5"], "inner steps after which to draw a panel")
flags.DEFINE_integer("draws", 30, "support-pass draws per support example")
flags.DEFINE_integer("seed", 0, "the meta-test episode and the noise")
flags.DEFINE_string("output", None, "PNG file")
cli.define_data_flags(with_dataset=False)
flags.mark_flags_as_required(["runs", "output"])
FLAGS = flags.FLAGS
COLOURS = ("tab:blue", "tab:orange")


def main(argv):
  runs = cli.labelled_runs(argv)
  steps = [int(step) for step in FLAGS.steps]
  try:
    rows = []
    for label, savedir in runs.items():
      learner, run_config, task, noise_seed = cli.restored_run_and_task(savedir, FLAGS.seed)
      panels = []
      for step in steps:
        fast = inner_loop.adapt(learner.model, learner.params, task.support_images,
                                task.support_labels, learner.algorithm.step_sizes(learner.params),
                                step, run_config.meta.num_test_mc_samples, noise_seed,
                                MetaGradient.FIRST_ORDER)
        panels.append(figures.boundary_projection(
            learner.model, fast, task.support_images, task.support_labels, task.query_images,
            task.query_labels, (0, 1), FLAGS.draws, noise_seed))
      rows.append((label, panels))
  except errors.ConfigError as error:
    sys.exit(f"error: {error}")
  figure, axes = plt.subplots(len(rows), len(steps), figsize=(3.2 * len(steps), 3 * len(rows)),
                              squeeze=False)
  for (label, panels), row in zip(rows, axes):
    for step, panel, axis in zip(steps, panels, row):
      for c, colour in zip((0, 1), COLOURS):
        x, y, labels = panel["support_draws"]
        axis.scatter(x[labels == c], y[labels == c], s=6, marker="x", color=colour, alpha=0.4)
        x, y, labels = panel["query"]
        axis.scatter(x[labels == c], y[labels == c], s=10, color=colour, alpha=0.8)
        x, y, labels = panel["support"]
        axis.scatter(x[labels == c], y[labels == c], s=90, marker="^", color=colour,
                     edgecolors="black")
      axis.axvline(panel["boundary"], color="red", linewidth=1)
      axis.set_title(f"{label}, step {step}", fontsize=9)
      axis.set_xticks([])
      axis.set_yticks([])
  figure.suptitle("classes 0 (blue) and 1 (orange): queries (dots), support (triangles), "
                  "support draws (crosses); red: decision boundary", fontsize=8)
  figure.tight_layout()
  files.write_figure(figure, FLAGS.output)
  print(f"wrote {FLAGS.output}")


if __name__ == "__main__":
  app.run(main)
