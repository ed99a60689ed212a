"""Accuracy against attack size for trained models (the paper's Fig. 5), from their SavedModels.

  python experiments/adversarial_robustness.py --runs=MAML=runs/maml,Meta-dropout=runs/metadrop \
      --output=results/robustness.json

Every model adapts to the same clean support sets (the meta-test episodes of --seed, as
evaluate.py draws them) and is attacked on its query images: FGSM and PGD in the L-inf, L2 and L1
balls (metadropout_tf/adversarial.py). Writes the JSON (per-episode accuracies included) and a
PNG beside it, one panel per attack, and prints each later run's paired difference from the
first on the same episodes. --from_json reprints and redraws an existing JSON, attacking nothing:

  python experiments/adversarial_robustness.py --from_json=results/robustness.json

Default epsilons: L-inf up to 0.3 (Omniglot) or 0.1
(miniImageNet), the paper's FGSM sizes (0.1, 0.3 / 0.01, 0.1) marked; L2 and L1 use the same
steps times 10 and 100.
"""
import os
import sys

from absl import app
from absl import flags

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
import matplotlib

from metadropout_tf import adversarial
from metadropout_tf import cli
from metadropout_tf import config as config_lib
from metadropout_tf import errors
from metadropout_tf import export
from metadropout_tf import files
from metadropout_tf import intervals
from metadropout_tf import progress
from metadropout_tf import run_dir

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  pylint: disable=g-import-not-at-top

flags.DEFINE_list("runs", None, "LABEL=SAVEDIR of each model (its saved_model/ is read)")
flags.DEFINE_list("attacks", ["fgsm_linf", "pgd_linf", "pgd_l2", "pgd_l1"],
                  "fgsm_<norm> or pgd_<norm>, <norm> in linf, l2, l1")
flags.DEFINE_list("epsilons", None, "L-inf sizes (default 0..0.3 Omniglot, 0..0.1 miniImageNet); "
                  "L2 and L1 use these times 10 and 100")
flags.DEFINE_integer("n_test_iters", 100, "meta-test episodes")
flags.DEFINE_integer("n_test_mc_samp", None, "S of the inner loop (default: each run's)")
flags.DEFINE_integer("steps", 10, "PGD steps")
flags.DEFINE_integer("seed", 0, "the episodes and noise (evaluate.py's for the same seed)")
flags.DEFINE_string("split", "test", "meta-test classes")
flags.DEFINE_string("output", None, "JSON results file; the PNG goes beside it")
flags.DEFINE_string("from_json", None, "an existing results JSON: print its table and paired "
                    "differences and redraw its PNG instead of attacking (--runs and --output unused)")
cli.define_data_flags(with_dataset=False)
FLAGS = flags.FLAGS

DEFAULT_EPSILONS = {"omniglot": [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3],
                    "miniimagenet": [0, 0.01, 0.025, 0.05, 0.075, 0.1]}
PAPER_EPSILONS = {"omniglot": (0.1, 0.3), "miniimagenet": (0.01, 0.1)}
NORM_SCALE = {"linf": 1, "l2": 10, "l1": 100}


def panel_order(name):
  """FGSM before PGD, each in adversarial.NORMS's order, whatever order the JSON keeps."""
  attack = adversarial.Attack.parse(name)
  return attack.method, adversarial.NORMS.index(attack.norm)


def plot(results, dataset, path):
  attacks = sorted(next(iter(results.values()))["attacks"], key=panel_order)
  figure, axes = plt.subplots(1, len(attacks), figsize=(4 * len(attacks), 3.4), squeeze=False)
  for axis, attack in zip(axes[0], attacks):
    for label, run in results.items():
      curve = run["attacks"][attack]
      axis.errorbar(curve["epsilons"], curve["accuracy"], yerr=curve["ci95"], marker="o",
                    capsize=3, label=label)
    if attack == "fgsm_linf":
      for epsilon in PAPER_EPSILONS[dataset]:
        axis.axvline(epsilon, color="grey", linestyle=":", linewidth=1)
    axis.set(title=attack.replace("_", " ").upper(), xlabel="epsilon", ylabel="accuracy (%)")
    axis.grid(alpha=0.3)
  axes[0][0].legend()
  figure.tight_layout()
  files.write_figure(figure, path)


def report(results):
  """Prints each run's accuracy per attack and epsilon and, for every run after the first, its
  paired difference from the first over the episodes all runs met."""
  baseline = next(iter(results))
  for label, run in results.items():
    for name in sorted(run["attacks"], key=panel_order):
      curve = run["attacks"][name]
      line = ", ".join(f"{e:g}: {a:.2f}" for e, a in zip(curve["epsilons"], curve["accuracy"]))
      print(f"{label} {name}: {line}")
      if label != baseline:
        differences = [intervals.paired_difference({"accuracies": ours}, {"accuracies": theirs})
                       for ours, theirs in zip(curve["accuracies"],
                                               results[baseline]["attacks"][name]["accuracies"])]
        print(f"  minus {baseline}: " + ", ".join(
            f"{e:g}: {mean:+.1f} +- {ci95:.1f}"
            for e, (mean, ci95) in zip(curve["epsilons"], differences)), flush=True)


def redraw(path):
  """--from_json: the report and PNG of an earlier run of this script."""
  try:
    results = files.read_json(path, required=("runs",))["runs"]
    dataset = next(iter(results.values()))["config"]["dataset"]
  except ValueError as error:
    sys.exit(f"error: {error}: pass the --output of an earlier run of this script")
  except (KeyError, TypeError, AttributeError, StopIteration) as error:
    sys.exit(f"error: {path} is not a results JSON of this script ({error!r}): pass the "
             "--output of an earlier run of this script")
  report(results)
  png = os.path.splitext(path)[0] + ".png"
  plot(results, dataset, png)
  print(f"wrote {png}")


def main(argv):
  if FLAGS.from_json:
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments {argv[1:]}")
    return redraw(FLAGS.from_json)
  if not FLAGS.runs or not FLAGS.output:
    raise app.UsageError("--runs and --output are required (or --from_json)")
  runs = cli.labelled_runs(argv)
  try:
    attacks = [adversarial.Attack.parse(name) for name in FLAGS.attacks]
    files.check_writable(FLAGS.output)
    results, dataset = {}, None
    for label, savedir in runs.items():
      loaded, run_config = export.load(run_dir.RunDir(savedir).saved_model)
      if not hasattr(loaded, "predict_adapted"):
        raise errors.ConfigError(f"the SavedModel of {savedir} predates adapt / "
                                     "predict_adapted: rerun its train.py command to export again")
      if dataset not in (None, run_config.dataset):
        raise errors.ConfigError(f"{savedir} was trained on {run_config.dataset}, the "
                                     f"others on {dataset}: compare models of one benchmark")
      dataset = run_config.dataset
      steps = [float(e) for e in FLAGS.epsilons or DEFAULT_EPSILONS[dataset]]
      epsilons = {norm: [e * scale for e in steps] for norm, scale in NORM_SCALE.items()}
      episode_config = config_lib.EpisodeConfig(run_config.episodes.num_ways,
                                                run_config.episodes.num_shots,
                                                run_config.episodes.num_queries, 1)
      num_samples = FLAGS.n_test_mc_samp or run_config.meta.num_test_mc_samples

      curves = adversarial.robustness(loaded, cli.split_images(dataset, FLAGS.split),
                                      episode_config, FLAGS.n_test_iters, FLAGS.seed, attacks,
                                      epsilons, num_samples, FLAGS.steps,
                                      on_episode=progress.EpisodeProgress(
                                          FLAGS.n_test_iters, label, every=10))
      results[label] = {"savedir": savedir, "n_test_mc_samp": num_samples, "attacks": curves,
                        "config": run_config.to_dict()}
  except (errors.ConfigError, ValueError, OSError) as error:
    sys.exit(f"error: {error}")
  files.write_json(FLAGS.output, {"seed": FLAGS.seed, "n_test_iters": FLAGS.n_test_iters,
                                  "steps": FLAGS.steps, "split": FLAGS.split, "runs": results})
  report(results)
  png = os.path.splitext(FLAGS.output)[0] + ".png"
  plot(results, dataset, png)
  print(f"wrote {FLAGS.output} and {png}")


if __name__ == "__main__":
  app.run(main)
