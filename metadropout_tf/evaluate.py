"""Meta-tests a training run's SavedModel (Algorithm 2) on held-out classes.

  metadropout-evaluate --savedir=runs/omni20w1s   (or python -m metadropout_tf.evaluate, python evaluate.py)
  metadropout-evaluate --model=omniglot_5way1shot_maml_seed0   # a shipped model (models/)

Loads --savedir/saved_model with plain TensorFlow (not the Python model class),
draws --n_test_iters seeded episodes of the run's way/shot/query from the
meta-test classes, adapts with S noise samples (the run's, 30 in the paper),
prints `accuracy: XX.XX +- Y.YY` (95% interval 1.96 * std / sqrt(n)) and writes
JSON with the per-episode accuracies and the run's whole config.

A meta-test can take an hour (miniImageNet, S = 30), so it records its episodes
in OUTPUT.partial as it goes, and the same command resumes from there: the
episodes are fixed by the seed, so a resumed result equals an uninterrupted one.
"""
import json
import os
import sys

from absl import flags

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
import tensorflow as tf

from metadropout_tf import cli
from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import errors
from metadropout_tf import evaluation
from metadropout_tf import export
from metadropout_tf import files
from metadropout_tf import pretrained
from metadropout_tf import progress
from metadropout_tf import provenance
from metadropout_tf import run_dir
from metadropout_tf import signals

flags.DEFINE_string("savedir", None, "a training run's directory (holds saved_model/)")
flags.DEFINE_string("model", None, "instead of --savedir: a shipped model's name (python -m "
                    "metadropout_tf.pretrained lists them)")
cli.define_data_flags(with_dataset=False)
flags.DEFINE_string("split", "test", "meta-test classes (Omniglot: test, or val)")
flags.DEFINE_integer("n_test_iters", 1000, "meta-test episodes")
flags.DEFINE_integer("n_test_mc_samp", None, "noise samples S of the inner loss (default: the run's)")
flags.DEFINE_integer("shot", None, "support examples per class (default: the run's)")
flags.DEFINE_integer("query", None, "query examples per class (default: the run's)")
flags.DEFINE_integer("seed", 0, "fixes the set of episodes and the noise (the same episodes for "
                     "every model evaluated with it)")
cli.define_determinism_flag()
flags.DEFINE_string("output", None, "JSON results file (default SAVEDIR/meta_test_<split>.json; "
                    "with --model, meta_test_<split>_<model>.json here)")
flags.DEFINE_boolean("keep_finished", False, "if --output already holds the finished result of "
                     "these episodes, print it and stop (for scripts that rerun to continue)")
flags.adopt_module_key_flags(cli)  # --help lists the data flags too
FLAGS = flags.FLAGS
PROGRESS_EVERY = 10  # episodes between saves of OUTPUT.partial


def evaluate():
  if (FLAGS.savedir is None) == (FLAGS.model is None):
    raise errors.ConfigError("give --savedir (a training run) or --model (a shipped model), "
                             "one of them")
  if FLAGS.model:
    saved = pretrained.path(FLAGS.model)
    output = FLAGS.output or f"meta_test_{FLAGS.split}_{FLAGS.model}.json"
  else:
    if not os.path.isdir(FLAGS.savedir):
      raise errors.ConfigError(f"no run directory at {files.resolved(FLAGS.savedir)}: pass "
                               "the --savedir a train.py run wrote")
    saved = run_dir.RunDir(FLAGS.savedir).saved_model
    output = FLAGS.output or run_dir.RunDir(FLAGS.savedir).meta_test_result(FLAGS.split)
  try:
    files.check_writable(output)
  except OSError as error:
    raise errors.ConfigError(f"cannot write --output {output}: {error}") from None
  if FLAGS.n_test_iters <= 0:
    raise errors.ConfigError(f"--n_test_iters must be positive, got {FLAGS.n_test_iters}")
  model, run_config = export.load(saved)
  trained = run_config.episodes
  for name in ("shot", "query", "n_test_mc_samp"):  # 0 is a value given, not "the run's"
    if FLAGS[name].value is not None and FLAGS[name].value <= 0:
      raise errors.ConfigError(f"--{name} must be positive, got {FLAGS[name].value} (leave "
                                   "it out for the run's own value)")

  def given_or(value, default):
    return default if value is None else value

  episode_config = config_lib.EpisodeConfig(
      trained.num_ways, given_or(FLAGS.shot, trained.num_shots),
      given_or(FLAGS.query, trained.num_queries), 1)
  num_samples = given_or(FLAGS.n_test_mc_samp, run_config.meta.num_test_mc_samples)
  images, _ = datasets.load(run_config.dataset, cli.data_dir(run_config.dataset), FLAGS.split,
                            FLAGS.tfds_data_dir)

  def predict(support_images, support_labels, query_images, seed):
    return model.adapt_and_predict_seeded(support_images, support_labels, query_images, seed,
                                          tf.constant(num_samples, tf.int32))

  episodes = dict(split=FLAGS.split, way=episode_config.num_ways, shot=episode_config.num_shots,
                  query=episode_config.num_queries, n_test_mc_samp=num_samples, seed=FLAGS.seed)
  progress_key = dict(episodes, model=export.fingerprint(saved))  # what a resumed test must share
  if FLAGS.keep_finished and _finished(output, episodes):
    return
  partial = f"{output}.partial"
  done = _resumable(partial, progress_key, episode_config.num_ways * episode_config.num_queries)
  line = progress.EpisodeProgress(FLAGS.n_test_iters, "meta-test", already_done=len(done))

  def save_and_show(count, accuracies):
    if count % PROGRESS_EVERY == 0:
      files.write_json(partial, dict(progress_key, accuracies=accuracies))
    line(count, accuracies)

  with signals.StopRequests() as stop:
    def progress_or_stop(count, accuracies):
      save_and_show(count, accuracies)
      if stop.signum and count < FLAGS.n_test_iters:
        files.write_json(partial, dict(progress_key, accuracies=accuracies))
        raise errors.Interrupted(f"interrupted by {stop.name} after {count} episodes: they are "
                                 f"kept in {partial}; rerun the same command to continue",
                                 stop.signum)

    results = evaluation.meta_test(predict, images, episode_config, FLAGS.n_test_iters,
                                   FLAGS.seed, on_episode=progress_or_stop, done=done)
  print(f"accuracy: {results['accuracy']:.2f} +- {results['ci95']:.2f}")
  results.update(episodes, **({"shipped_model": FLAGS.model} if FLAGS.model else
                              {"savedir": FLAGS.savedir}), config=run_config.to_dict(),
                 provenance=dict(provenance.record(line.elapsed),
                                 episodes_resumed=len(done)))
  files.write_json(output, results)
  if os.path.exists(partial):
    os.remove(partial)
  print(f"wrote {output}")


def _finished(output, episodes):
  """Whether `output` holds a finished meta-test of `episodes` and --n_test_iters (printed)."""
  try:
    result = files.read_json(output, required=("accuracy", "ci95", "num_episodes"))
  except ValueError:
    return False  # absent or damaged: measure it
  if result["num_episodes"] != FLAGS.n_test_iters or any(
      result.get(key) != value for key, value in episodes.items()):
    return False
  print(f"accuracy: {result['accuracy']:.2f} +- {result['ci95']:.2f} (kept {output})")
  return True


def _resumable(partial, progress_key, queries_per_episode):
  """The accuracies an interrupted meta-test of the same model and episodes recorded in
  `partial`; a damaged file, impossible values or other settings are named and not used."""
  if os.path.isdir(partial):
    raise errors.ConfigError(f"{partial} is a folder, where evaluate.py keeps its progress: "
                                 "move it away and rerun")
  if not os.path.exists(partial):
    return []
  try:
    with open(partial) as f:
      recorded = json.load(f)
    accuracies = [float(a) for a in recorded["accuracies"]]
    differing = [key for key in progress_key if recorded.get(key) != progress_key[key]]
    if not differing:
      _check_accuracies(accuracies, queries_per_episode)
  except (ValueError, KeyError, TypeError, AttributeError) as error:
    print(f"warning: {partial} is damaged ({type(error).__name__}: {error}); meta-testing from "
          "the first episode", file=sys.stderr)
    return []
  if differing:
    print(f"warning: {partial} holds episodes of other settings (differing: "
          f"{', '.join(differing)}); meta-testing from the first episode", file=sys.stderr)
    return []
  print(f"resuming from {partial}: {len(accuracies)} episodes done", flush=True)
  return accuracies


def _check_accuracies(accuracies, queries_per_episode):
  """Raises ValueError unless every value is an episode's accuracy: k of its queries right, in %,
  and there are no more of them than --n_test_iters."""
  if len(accuracies) > FLAGS.n_test_iters:
    raise ValueError(f"{len(accuracies)} episodes recorded, more than --n_test_iters="
                     f"{FLAGS.n_test_iters}")
  for index, value in enumerate(accuracies):
    right = value * queries_per_episode / 100.0
    if not 0 <= value <= 100 or abs(right - round(right)) > 1e-6:
      raise ValueError(f"episode {index}'s accuracy {value} is not k/{queries_per_episode} of "
                       "its queries right")


def main():
  try:
    evaluate()
  except (errors.ConfigError, errors.WriteError) as error:
    sys.exit(f"error: {error}")


def run():
  """The `metadropout-evaluate` command."""
  cli.run(main)


if __name__ == "__main__":
  run()
