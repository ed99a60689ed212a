"""Meta-trains MAML / meta-dropout, checkpointing as it goes, then exports a SavedModel.

  metadropout-train --preset=omniglot_20way_1shot/metadrop --savedir=runs/omni20w1s
  metadropout-train --flagfile=my_settings.cfg --savedir=runs/mine   # a flagfile of your own

(also `python -m metadropout_tf.train`, or `python train.py` in the repository)

Flags -> a `RunConfig` (what defines the run) and a `Schedule` (how long, how often) ->
`training.train`. Rerunning the same command resumes from the newest good checkpoint in
--savedir. Flag names follow the authors' main.py, so their run files translate one to one.
"""
import dataclasses
import os
import sys

from absl import flags

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)

from metadropout_tf import algorithms
from metadropout_tf import cli
from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import devices
from metadropout_tf import errors
from metadropout_tf import files
from metadropout_tf import perturbations
from metadropout_tf import training

flags.DEFINE_string("preset", None, "a preset shipped with the package by name, e.g. "
                    "omniglot_20way_1shot/metadrop or quickstart: the same as --flagfile=<its "
                    "file>, from any folder (expanded before the other flags, which override it)")
flags.DEFINE_string("savedir", None, "run directory: config, checkpoints, TensorBoard logs, SavedModel")
cli.define_data_flags()
flags.DEFINE_enum("train_split", None, list(datasets.SPLITS), "classes to meta-train on "
                  "(default: the paper's, Omniglot trainval, miniImageNet train)")
flags.DEFINE_enum("eval_split", "test", list(datasets.SPLITS), "held-out classes for periodic evaluation (test, or val for model selection)")
flags.DEFINE_integer("way", 20, "classes per task (N)")
flags.DEFINE_integer("shot", 1, "support examples per class (K)")
flags.DEFINE_integer("query", 15, "query examples per class")
flags.DEFINE_integer("metabatch", 8, "tasks per meta-update")
flags.DEFINE_float("meta_lr", 1e-3, "Adam step size of the meta-update")
flags.DEFINE_float("inner_lr", 0.1, "inner-loop SGD step size alpha")
flags.DEFINE_integer("n_steps", 5, "inner SGD steps (meta-train and meta-test)")
flags.DEFINE_integer("n_train_iters", 40000, "meta-iterations")
flags.DEFINE_integer("n_train_mc_samp", 1, "noise samples S of the inner loss while meta-training")
flags.DEFINE_integer("n_test_mc_samp", 30, "noise samples S of the inner loss at meta-test")
flags.DEFINE_integer("num_filters", None, "channels of every conv layer (default: the paper's, 64 Omniglot)")
flags.DEFINE_boolean("maml", False, "plain MAML: no noise (same as --noise=none)")
flags.DEFINE_enum("noise", "multiplicative", list(perturbations.PERTURBATIONS),
                  "perturbation of the conv layers (meta-dropout's noises, Table 2's baselines)")
flags.DEFINE_float("noise_scale", 0.1, "lambda of --noise=additive")
flags.DEFINE_float("weight_noise_rho", -6.2, "initial rho of --noise=weight_gaussian "
                   "(std softplus(rho))")
flags.DEFINE_float("kl_weight", 1e-4, "beta: the KL's weight in the inner loss of --noise=vib "
                   "and information_dropout")
flags.DEFINE_float("mixup_gamma", 1.0, "gamma of --noise=mixup: lambda ~ Beta(gamma, gamma)")
flags.DEFINE_enum("batch_norm", "transductive", list(config_lib.BATCH_NORM_MODES),
                  "transductive (original, MAML) or support (inductive: queries use support moments)")
flags.DEFINE_boolean("logit_noise", True, "the original head's Gaussian logit noise when sampling")
flags.DEFINE_enum("algorithm", "maml", list(algorithms.ALGORITHMS),
                  "maml, meta_sgd (a meta-learned step size per inner-loop weight, from "
                  "--inner_lr) or anil (only the head adapts in the inner loop)")
flags.DEFINE_boolean("meta_sgd", False, "alias of --algorithm=meta_sgd")
flags.DEFINE_enum("meta_gradient", "exact", list(config_lib.META_GRADIENTS),
                  "exact (the paper's equations), authors_tf1 (what the authors' TF 1.12 code "
                  "computed: no second order through batch norm's backward) or first_order")
flags.DEFINE_boolean("first_order", False, "alias of --meta_gradient=first_order")
flags.DEFINE_enum("strategy", "default", list(config_lib.DISTRIBUTE_STRATEGIES),
                  "default (one device), mirrored (the local GPUs, or --logical_cpus) or "
                  "multi_worker (the hosts in TF_CONFIG)")
flags.DEFINE_integer("logical_cpus", 0, "split the CPU into this many logical devices, to run "
                     "--strategy=mirrored without GPUs (0: no split)")
cli.define_determinism_flag()
cli.define_jit_compile_flag()
flags.DEFINE_integer("seed", 0, "drives every random draw: episodes, noise, initial weights")
flags.DEFINE_integer("save_freq", 500, "checkpoint every this many meta-iterations")
flags.DEFINE_integer("log_freq", 50, "progress line and TensorBoard scalars every this many iterations")
flags.DEFINE_integer("eval_freq", 1000, "held-out accuracy every this many iterations (0: never)")
flags.DEFINE_integer("n_eval_episodes", 100, "episodes of each periodic held-out evaluation")
flags.mark_flag_as_required("savedir")
flags.adopt_module_key_flags(cli)  # --help lists the data flags too
FLAGS = flags.FLAGS


def meta_gradient_from_flags():
  if not FLAGS.first_order:
    return FLAGS.meta_gradient
  if FLAGS.meta_gradient not in ("exact", "first_order"):
    raise errors.ConfigError(f"--first_order contradicts --meta_gradient={FLAGS.meta_gradient}: "
                                 "pass one of them")
  return "first_order"


def algorithm_from_flags():
  if FLAGS.meta_sgd and FLAGS["algorithm"].present and FLAGS.algorithm != "meta_sgd":
    raise errors.ConfigError(f"--meta_sgd contradicts --algorithm={FLAGS.algorithm}: pass one "
                             "of them")
  return "meta_sgd" if FLAGS.meta_sgd else FLAGS.algorithm


def noise_from_flags():
  if FLAGS.maml and FLAGS["noise"].present and FLAGS.noise != "none":
    raise errors.ConfigError(f"--maml means --noise=none, but --noise={FLAGS.noise} was given: "
                                 "pass one of them")
  return "none" if FLAGS.maml else FLAGS.noise


def run_config_from_flags():
  benchmark = datasets.DATASETS[FLAGS.dataset]
  return config_lib.RunConfig(
      model=config_lib.ModelConfig(image_size=benchmark.image_size,
                                   image_channels=benchmark.image_channels,
                                   num_filters=FLAGS.num_filters or benchmark.num_filters, num_ways=FLAGS.way,
                                   noise=noise_from_flags(), batch_norm=FLAGS.batch_norm,
                                   logit_noise=FLAGS.logit_noise, noise_scale=FLAGS.noise_scale,
                                   weight_noise_rho=FLAGS.weight_noise_rho,
                                   kl_weight=FLAGS.kl_weight, mixup_gamma=FLAGS.mixup_gamma),
      meta=config_lib.MetaConfig(inner_lr=FLAGS.inner_lr, num_inner_steps=FLAGS.n_steps,
                                 num_mc_samples=FLAGS.n_train_mc_samp,
                                 num_test_mc_samples=FLAGS.n_test_mc_samp, meta_lr=FLAGS.meta_lr,
                                 meta_gradient=meta_gradient_from_flags(),
                                 algorithm=algorithm_from_flags()),
      episodes=config_lib.EpisodeConfig(FLAGS.way, FLAGS.shot, FLAGS.query, FLAGS.metabatch),
      dataset=FLAGS.dataset, train_split=FLAGS.train_split or benchmark.train_split,
      eval_split=FLAGS.eval_split, seed=FLAGS.seed, strategy=FLAGS.strategy)


def schedule_from_flags():
  return training.Schedule(num_iterations=FLAGS.n_train_iters, save_every=FLAGS.save_freq,
                           log_every=FLAGS.log_freq, eval_every=FLAGS.eval_freq,
                           num_eval_episodes=FLAGS.n_eval_episodes)


# The flag that sets each config or schedule field whose name differs from it, for messages.
FLAG_OF_FIELD = {
    "num_iterations": "n_train_iters", "save_every": "save_freq", "log_every": "log_freq",
    "eval_every": "eval_freq", "num_eval_episodes": "n_eval_episodes", "num_ways": "way",
    "num_shots": "shot", "num_queries": "query", "meta_batch_size": "metabatch",
    "num_inner_steps": "n_steps", "num_mc_samples": "n_train_mc_samp",
    "num_test_mc_samples": "n_test_mc_samp"}


def in_flag_terms(message):
  """"save_every must be positive, got 0" -> "--save_freq must be positive, got 0"."""
  field, _, rest = message.partition(" must ")
  flag = FLAG_OF_FIELD.get(field, field if field in FLAGS else None)
  return f"--{flag} must {rest}" if rest and flag else message


def check_placement_flags():
  """Where the run goes and on what: one line now, not a traceback after the data is read."""
  if FLAGS.logical_cpus < 0:
    raise errors.ConfigError(f"--logical_cpus must be 0 (the CPU as one device) or a number "
                                 f"of logical devices, got {FLAGS.logical_cpus}")
  if os.path.exists(FLAGS.savedir) and not os.path.isdir(FLAGS.savedir):
    raise errors.ConfigError(f"--savedir {FLAGS.savedir} is a file, not a run directory: "
                                 "name a folder (new or a run's)")
  try:
    files.check_writable_folder(FLAGS.savedir)
  except OSError as error:
    raise errors.ConfigError(f"--savedir: {error}: choose another folder, or free space") from None


def main():
  try:
    schedule = schedule_from_flags()
    run_config = run_config_from_flags()  # settings are checked before the data is read
    check_placement_flags()
    if FLAGS.logical_cpus:
      devices.split_cpu(FLAGS.logical_cpus)
    run_config = dataclasses.replace(
        run_config, data_fingerprint=datasets.fingerprint(FLAGS.dataset, cli.data_dir(FLAGS.dataset)))
    training.train(run_config, FLAGS.savedir, schedule, cli.data_dir(FLAGS.dataset),
                   FLAGS.tfds_data_dir)
  except errors.ConfigError as error:
    sys.exit(f"error: {in_flag_terms(str(error))}")
  except (errors.TrainingError, errors.NoUsableCheckpointError, errors.LockedError,
          errors.WriteError) as error:
    sys.exit(f"error: {error}")


def run():
  """The `metadropout-train` command."""
  cli.run(main)


if __name__ == "__main__":
  run()
