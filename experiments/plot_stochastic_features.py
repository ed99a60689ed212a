"""Fig. 7: a layer's activations of one meta-test image, deterministic and for several noise draws.

  python experiments/plot_stochastic_features.py --runs=Meta-dropout=runs/metadrop \
      --output=results/figures/stochastic_features.png [--block=1]

For each run (restored from its newest checkpoint, before adaptation: phi is meta-learned only),
the first image of a meta-test support set: the input, then one row per channel shown, with the
query-pass activation (softplus(mu) for meta-dropout) beside --draws support-pass draws.
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

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  pylint: disable=g-import-not-at-top

flags.DEFINE_list("runs", None, "LABEL=SAVEDIR of each run")
flags.DEFINE_integer("block", 1, "conv block (1-4) whose activations are shown")
flags.DEFINE_integer("channels", 6, "channels shown")
flags.DEFINE_integer("draws", 4, "noise draws shown")
flags.DEFINE_integer("seed", 0, "the meta-test episode and the noise")
flags.DEFINE_string("output", None, "PNG file")
cli.define_data_flags(with_dataset=False)
flags.mark_flags_as_required(["runs", "output"])
FLAGS = flags.FLAGS


def main(argv):
  runs = cli.labelled_runs(argv)
  try:
    panels = []
    for label, savedir in runs.items():
      learner, _, task, noise_seed = cli.restored_run_and_task(savedir, FLAGS.seed)
      (deterministic, draws), = figures.stochastic_activations(
          learner.model, learner.params, task.support_images, (FLAGS.block,), FLAGS.draws,
          noise_seed).values()
      panels.append((label, task.support_images[0].numpy(), deterministic, draws))
  except errors.ConfigError as error:
    sys.exit(f"error: {error}")
  columns = 1 + FLAGS.draws
  figure, axes = plt.subplots(len(panels) * FLAGS.channels, columns + 1,
                              figsize=(1.4 * (columns + 1), 1.4 * len(panels) * FLAGS.channels),
                              squeeze=False)
  for p, (label, image, deterministic, draws) in enumerate(panels):
    for c in range(FLAGS.channels):
      row = axes[p * FLAGS.channels + c]
      scale = max(deterministic[..., c].max(), draws[..., c].max(), 1e-8)
      row[0].imshow(image.squeeze() if image.shape[-1] == 1 else image,
                    cmap="gray" if image.shape[-1] == 1 else None)
      for column, activation in enumerate([deterministic] + list(draws)):
        row[column + 1].imshow(activation[..., c], cmap="viridis", vmin=0, vmax=scale)
      row[0].set_ylabel(f"{label}\nch {c}", fontsize=7)
  titles = ["input", "query pass"] + [f"draw {d + 1}" for d in range(FLAGS.draws)]
  for axis, title in zip(axes[0], titles):
    axis.set_title(title, fontsize=8)
  for axis in axes.ravel():
    axis.set_xticks([])
    axis.set_yticks([])
  figure.suptitle(f"block {FLAGS.block} activations (after batch norm and ReLU)", fontsize=9)
  figure.tight_layout()
  files.write_figure(figure, FLAGS.output)
  print(f"wrote {FLAGS.output}")


if __name__ == "__main__":
  app.run(main)
