"""Trains models for several seeds, meta-tests each on the same episodes, and prints the
interval over seeds.

  python experiments/seeds.py --preset=presets/omniglot_20way_1shot.cfg \
      --name=omniglot_20way1shot_2000 --variants=maml,metadrop --seeds=0,1,2 \
      --n_train_iters=2000 --eval_freq=250
  python experiments/seeds.py --name=omniglot_20way1shot_2000 --variants=maml,metadrop \
      --aggregate_only

Each VARIANT[:GRADIENT] (a name of metadropout_tf/variants.py; GRADIENT sets --meta_gradient
and the label becomes VARIANT_GRADIENT) trains once per seed into RUNS/NAME/LABEL/seed_S with
train.py --seed=S (its own initial weights, training episodes and noise), then evaluate.py
meta-tests it on the same episodes for every model (evaluate.py's --seed=0) into
results/NAME/LABEL/seed_S.json (a model already there is not trained again, so commands that
share NAME share its models). Rerun the same command to continue after a stop: training resumes
from its checkpoints and finished evaluations are kept. The summary (printed, and
results/NAME/SUMMARY_NAME.json) gives per model the mean over seeds with a 95% t-interval over seeds
(t = 4.30 for 3 seeds) beside each seed's per-episode interval, and against the first variant
the per-seed paired differences with their mean and t-interval over seeds. Each result also
keeps its run's held-out points, so experiments/results_page.py draws the figures from results/
alone.
"""
import os
import subprocess
import sys

from absl import app
from absl import flags

from metadropout_tf import console  # before TensorFlow loads (run_dir reads the logs with it)
from metadropout_tf import files
from metadropout_tf import intervals
from metadropout_tf import run_dir
from metadropout_tf import variants

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_string("preset", None, "the base preset (a flagfile of presets/)")
flags.DEFINE_string("name", None, "the folder of these runs under --runs_dir and --results_dir")
flags.DEFINE_list("variants", ["maml", "metadrop"], "VARIANT[:GRADIENT], the first the baseline")
flags.DEFINE_list("seeds", ["0", "1", "2"], "training seeds")
flags.DEFINE_integer("n_train_iters", 2000, "meta-iterations of every run")
flags.DEFINE_integer("eval_freq", 250, "held-out points every this many iterations (0: none)")
flags.DEFINE_integer("n_eval_episodes", 100, "episodes of each held-out point")
flags.DEFINE_integer("save_freq", 250, "checkpoint every this many iterations")
flags.DEFINE_integer("test_episodes", 1000, "meta-test episodes (the same for every model)")
flags.DEFINE_string("meta_gradient", "exact", "of variants given without :GRADIENT")
flags.DEFINE_list("train_flags", [], "more train.py flags for every run, e.g. --num_filters=8")
flags.DEFINE_list("data_flags", [], "flags for train.py and evaluate.py, e.g. --data_dir=DIR")
flags.DEFINE_string("runs_dir", "runs", "where the run directories go")
flags.DEFINE_string("results_dir", os.path.join(ROOT, "results"), "where the results go")
flags.DEFINE_boolean("aggregate_only", False, "only summarise the results already there")
flags.DEFINE_string("summary_name", "seeds", "the summary's file name under results/NAME (several "
                    "commands can share NAME's models, each with its own summary)")
FLAGS = flags.FLAGS


def parse_variant(text):
  """(label, variant, meta-gradient) of VARIANT[:GRADIENT]; exits naming an unknown variant."""
  name, _, gradient = text.partition(":")
  if name not in variants.VARIANTS:
    sys.exit(f"error: --variants: unknown variant {name!r}; one of {', '.join(variants.VARIANTS)}")
  return (f"{name}_{gradient}" if gradient else name), variants.VARIANTS[name], (
      gradient or FLAGS.meta_gradient)


def run(command):
  """Runs a script of this repository; exits with its status if it fails."""
  status = subprocess.run([sys.executable, *command]).returncode
  if status:
    sys.exit(f"error: {os.path.basename(command[0])} failed (exit {status}); rerun this command "
             "to continue from the last checkpoint")


def savedir_of(label, seed):
  return os.path.join(FLAGS.runs_dir, FLAGS.name, label, f"seed_{seed}")


def train_and_evaluate(label, variant, gradient, seed, result_path):
  savedir = savedir_of(label, seed)
  run([os.path.join(ROOT, "train.py"), f"--flagfile={FLAGS.preset}", f"--seed={seed}",
       f"--n_train_iters={FLAGS.n_train_iters}", f"--meta_gradient={gradient}",
       f"--save_freq={FLAGS.save_freq}", f"--eval_freq={FLAGS.eval_freq}",
       f"--n_eval_episodes={FLAGS.n_eval_episodes}", f"--savedir={savedir}", *variant.flags,
       *FLAGS.train_flags, *FLAGS.data_flags])
  os.makedirs(os.path.dirname(result_path), exist_ok=True)
  run([os.path.join(ROOT, "evaluate.py"), f"--savedir={savedir}",
       f"--n_test_iters={FLAGS.test_episodes}", "--seed=0", f"--output={result_path}",
       *FLAGS.data_flags])


def read_result(path):
  """evaluate.py's result at `path`, None if absent; exits naming a damaged one."""
  if not os.path.exists(path):
    return None
  try:
    result = files.read_json(path, required=("accuracy", "ci95", "accuracies", "num_episodes"))
  except ValueError as error:
    sys.exit(f"error: {error}: delete it and rerun to meta-test that model again")
  if result["num_episodes"] != FLAGS.test_episodes:
    sys.exit(f"error: {path} holds {result['num_episodes']} episodes, not --test_episodes="
             f"{FLAGS.test_episodes}: use the same value, or delete it to meta-test again")
  return result


def with_held_out_curve(result, path, savedir):
  """`result` with its run's held-out points ("held_out": split and [step, accuracy, ci95]),
  written into `path`, so the learning curves are drawn from results/ alone; unchanged when it
  has them or its run directory is not here."""
  if "held_out" in result or not os.path.isdir(savedir):
    return result
  split = result["config"]["eval_split"]
  points = run_dir.RunDir(savedir).held_out_curve(split)
  if not points:
    return result
  result = dict(result, held_out={"split": split, "points": points})
  files.write_json(path, result)
  return result


def print_summary(summary):
  for label, model in summary["models"].items():
    seeds = ", ".join(f"seed {s}: {r['accuracy']:.2f} +- {r['ci95']:.2f}"
                      for s, r in model["per_seed"].items())
    overall = (f"{model['mean']:.2f} +- {model['across_seeds_ci95']:.2f} over seeds"
               if "mean" in model else "one seed: no interval over seeds")
    print(f"{label}: {overall} ({seeds}; per-episode intervals)")
    difference = model.get("difference")
    if difference:
      per_seed = ", ".join(f"seed {s}: {d['mean']:+.2f} +- {d['ci95']:.2f}"
                           for s, d in difference["per_seed"].items())
      overall = (f"{difference['mean']:+.2f} +- {difference['across_seeds_ci95']:.2f} over seeds"
                 if "mean" in difference else "no interval over seeds")
      print(f"  {label} - {summary['baseline']}: {overall} ({per_seed}; paired per episode)")


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}: every option is a --flag")
  if not FLAGS.name or (not FLAGS.aggregate_only and not FLAGS.preset):
    sys.exit("error: give --name (and --preset to train): see --help")
  try:
    seeds = [int(s) for s in FLAGS.seeds]
  except ValueError:
    sys.exit(f"error: --seeds must be integers, got {','.join(FLAGS.seeds)}")
  runs = [parse_variant(text) for text in FLAGS.variants]
  results = {}
  for seed in seeds:  # seed-major: a stop leaves every variant of the early seeds finished
    for label, variant, gradient in runs:
      path = os.path.join(FLAGS.results_dir, FLAGS.name, label, f"seed_{seed}.json")
      result = read_result(path)
      if result is None and not FLAGS.aggregate_only:
        train_and_evaluate(label, variant, gradient, seed, path)
        result = read_result(path)
      if result is not None:
        result = with_held_out_curve(result, path, savedir_of(label, seed))
        results.setdefault(label, {})[seed] = result
  baseline = runs[0][0]
  if baseline not in results:
    sys.exit(f"error: no results of the baseline {baseline} under "
             f"{os.path.join(FLAGS.results_dir, FLAGS.name)} yet: train first (without "
             "--aggregate_only)")
  try:
    summary = intervals.seeds_summary(results, baseline)
  except ValueError as error:
    sys.exit(f"error: {error}")
  summary["command"] = " ".join(["python", "experiments/seeds.py", *sys.argv[1:]])
  files.write_json(os.path.join(FLAGS.results_dir, FLAGS.name, f"{FLAGS.summary_name}.json"),
                   summary)
  print_summary(summary)


if __name__ == "__main__":
  app.run(main)
