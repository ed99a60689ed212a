"""Flags and helpers shared by the command-line scripts: which benchmark, its files, tfds' data
directory, and restored runs."""
import functools
import os

from absl import app
from absl import flags

from metadropout_tf import console
from metadropout_tf import datasets
from metadropout_tf import evaluation
from metadropout_tf import graph_options
from metadropout_tf import run_labels
from metadropout_tf import run_dir

FLAGS = flags.FLAGS


def define_data_flags(with_dataset=True):
  """--dataset (unless the run's config names it), --data_dir and --tfds_data_dir."""
  if with_dataset:
    flags.DEFINE_enum("dataset", "omniglot", list(datasets.DATASETS), "benchmark")
  flags.DEFINE_string("data_dir", None, "the benchmark's official files "
                      "(default ../shared/datasets/<dataset>)")
  flags.DEFINE_string("tfds_data_dir", None, "where tensorflow-datasets keeps the prepared "
                      "benchmarks (default: its own, $TFDS_DATA_DIR or ~/tensorflow_datasets)")


def define_determinism_flag():
  """--deterministic, applied by `apply_graph_flags` once the flags are parsed."""
  flags.DEFINE_boolean("deterministic", True, "bit-for-bit reproducible numbers: Grappler's "
                       "graph rewrites off (--nodeterministic turns them back on)")


def define_jit_compile_flag():
  flags.DEFINE_boolean("jit_compile", False, "compile each task's meta-gradient and the meta-test "
                       "step with XLA (for GPUs; not the default's numbers: other noise draws)")


def apply_graph_flags():
  """--deterministic and, where the script has it, --jit_compile."""
  graph_options.set_deterministic(FLAGS.deterministic)
  if "jit_compile" in FLAGS:
    graph_options.set_jit_compile(FLAGS.jit_compile)


def data_dir(dataset):
  return FLAGS.data_dir or os.path.join("..", "shared", "datasets", dataset)


@functools.lru_cache(maxsize=None)
def split_images(dataset, split="test"):
  """A split's classes [classes, per_class, H, W, C], loaded once however many runs a script
  reads."""
  return datasets.load(dataset, data_dir(dataset), split, FLAGS.tfds_data_dir)[0]


def restored_run_and_task(savedir, seed):
  """(MetaLearner at the run's newest checkpoint, its RunConfig, the first meta-test task of
  `seed` as evaluate.py draws it, that task's [2] noise seed), for the figure scripts."""
  learner, run_config = run_dir.RunDir(savedir).restore_learner()
  task, noise_seed = next(evaluation.fixed_episodes(split_images(run_config.dataset),
                                                    run_config.episodes, 1, seed))
  return learner, run_config, task, noise_seed


def labelled_runs(argv):
  """{label: savedir} of --runs=LABEL=SAVEDIR,..., for the scripts that compare saved runs and
  take no positional arguments; a bad item exits with its one-line error."""
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  console.quiet_python_loggers()
  return run_labels.parse_or_exit(FLAGS.runs, "SAVEDIR")
