"""Flags and helpers shared by the command-line scripts: which benchmark, its files, tfds' data
directory, and restored runs."""
import functools
import os
import sys

from absl import app
from absl import flags

from metadropout_tf import console
from metadropout_tf import datasets
from metadropout_tf import errors
from metadropout_tf import evaluation
from metadropout_tf import graph_options
from metadropout_tf import run_labels
from metadropout_tf import run_dir

FLAGS = flags.FLAGS
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "presets")


def preset_names():
  """Every preset's name (its path under PRESETS without .cfg), sorted."""
  return sorted(os.path.relpath(os.path.join(folder, name), PRESETS)[:-len(".cfg")]
                for folder, _, names in os.walk(PRESETS) for name in names
                if name.endswith(".cfg"))


def preset_path(name):
  """The file of the preset NAME (e.g. omniglot_20way_1shot/metadrop); ConfigError if none."""
  path = os.path.join(PRESETS, f"{name.removesuffix('.cfg')}.cfg")
  if not name or not os.path.isfile(path):
    settings = sorted({n.split("/")[0] for n in preset_names() if "/" in n})
    raise errors.ConfigError(
        f"no preset {name!r}: a name is SETTING/VARIANT (SETTING one of {', '.join(settings)}; "
        "VARIANT a name of python -m metadropout_tf.variants) or a base such as quickstart")
  return path


def expand_flagfiles(argv, including=None):
  """argv with every --flagfile=PATH and --preset=NAME replaced by the file's flags, recursively.

  PATH is relative to the working directory on the command line and to the including file's
  folder inside a flagfile (absl reads both relative to the working directory, so a preset that
  includes its base worked only from the repository's root). NAME is a preset shipped with the
  package (`preset_path`). A missing file or preset is a ConfigError.
  """
  expanded = []
  arguments = iter(argv)
  for argument in arguments:
    if argument in ("--flagfile", "--preset"):
      argument = f"{argument}={next(arguments, '')}"
    if argument.startswith("--preset="):
      expanded += expand_flagfiles([f"--flagfile={preset_path(argument[len('--preset='):])}"])
      continue
    if not argument.startswith("--flagfile="):
      expanded.append(argument)
      continue
    path = os.path.expanduser(argument[len("--flagfile="):])
    if including and not os.path.isabs(path):
      path = os.path.join(os.path.dirname(including), path)
    try:
      with open(path) as f:
        lines = [line.strip() for line in f]
    except OSError as error:
      where = f" (included by {including})" if including else ""
      raise errors.ConfigError(f"cannot read --flagfile {path}{where}: "
                               f"{error.strerror or error}") from None
    expanded += expand_flagfiles([l for l in lines if l and not l.startswith("#")], path)
  return expanded


def run(main):
  """Runs a CLI's `main()` under absl, what every CLI does around it done here: flagfiles
  expanded first (see `expand_flagfiles`; one that cannot be read is one line), positional
  arguments refused, the console quieted, the graph flags applied, and an interrupt that
  `main` stopped at a safe point (errors.Interrupted) printed as its one line, exit 128+signal."""
  try:
    argv = [sys.argv[0], *expand_flagfiles(sys.argv[1:])]
  except errors.ConfigError as error:
    sys.exit(f"error: {error}")
  # --help lists the key flags of the program absl sees (sys.argv[0]: a wrapper or a console
  # script); give it those of the module that defines them, the shared data flags among them.
  for flag in FLAGS.get_key_flags_for_module(sys.modules[main.__module__]):
    FLAGS.register_key_flag_for_module(argv[0], flag)

  def main_of_absl(parsed_argv):
    if len(parsed_argv) > 1:
      raise app.UsageError(f"unexpected arguments {parsed_argv[1:]}")
    console.quiet_python_loggers()
    apply_graph_flags()
    try:
      main()
    except errors.Interrupted as interrupted:
      print(interrupted, file=sys.stderr)  # asked for, not an error
      sys.exit(128 + interrupted.signum)

  app.run(main_of_absl, argv=argv)


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
  """--data_dir, else ../shared/datasets/<dataset> beside the working directory or, failing
  that, beside the repository."""
  if FLAGS.data_dir:
    return FLAGS.data_dir
  beside_here = os.path.join("..", "shared", "datasets", dataset)
  if os.path.isdir(beside_here):
    return beside_here
  return os.path.join(REPOSITORY, "..", "shared", "datasets", dataset)


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
