"""Meta-trains MAML / meta-dropout, checkpointing as it goes, then exports a SavedModel.

  python train.py --flagfile=presets/omniglot_20way_1shot.cfg --savedir=runs/omni20w1s

Rerunning the same command resumes from the latest checkpoint in --savedir.
Flag names follow the authors' main.py, so their run files translate one to one.
"""
import os
import sys
import time

from absl import app
from absl import flags

import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
import tensorflow as tf

from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import episodes
from metadropout_tf import evaluation
from metadropout_tf import export
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf import noise

flags.DEFINE_string("savedir", None, "run directory: config, checkpoints, TensorBoard logs, SavedModel")
flags.DEFINE_enum("dataset", "omniglot", list(datasets.DATASETS), "benchmark")
flags.DEFINE_string("data_dir", None, "the benchmark's official files (default ../shared/datasets/<dataset>)")
flags.DEFINE_string("cache_dir", ".cache", "where processed arrays are cached")
flags.DEFINE_string("train_split", "trainval", "classes to meta-train on (Omniglot: trainval or train)")
flags.DEFINE_string("eval_split", "test", "held-out classes for periodic evaluation (test, or val for model selection)")
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
flags.DEFINE_enum("noise", "multiplicative", list(noise.STRATEGIES), "noise strategy of the conv layers")
flags.DEFINE_enum("batch_norm", "transductive", list(config_lib.BATCH_NORM_MODES),
                  "transductive (original, MAML) or support (inductive: queries use support moments)")
flags.DEFINE_boolean("logit_noise", True, "the original head's Gaussian logit noise when sampling")
flags.DEFINE_boolean("meta_sgd", False, "Meta-SGD: meta-learn a step size per inner-loop weight, from --inner_lr")
flags.DEFINE_enum("meta_gradient", "exact", list(config_lib.META_GRADIENTS),
                  "exact (the paper's equations), authors_tf1 (what the authors' TF 1.12 code "
                  "computed: no second order through batch norm's backward) or first_order")
flags.DEFINE_boolean("first_order", False, "alias of --meta_gradient=first_order")
flags.DEFINE_integer("seed", 0, "drives every random draw: episodes, noise, initial weights")
flags.DEFINE_integer("save_freq", 500, "checkpoint every this many meta-iterations")
flags.DEFINE_integer("log_freq", 50, "progress line and TensorBoard scalars every this many iterations")
flags.DEFINE_integer("eval_freq", 1000, "held-out accuracy every this many iterations (0: never)")
flags.DEFINE_integer("n_eval_episodes", 100, "episodes of each periodic held-out evaluation")
flags.mark_flag_as_required("savedir")
FLAGS = flags.FLAGS

EVAL_SEED_OFFSET = 1_000_003  # periodic evaluation episodes never share seeds with training


def meta_gradient_from_flags():
  if not FLAGS.first_order:
    return FLAGS.meta_gradient
  if FLAGS.meta_gradient not in ("exact", "first_order"):
    raise config_lib.ConfigError(f"--first_order contradicts --meta_gradient={FLAGS.meta_gradient}: "
                                 "pass one of them")
  return "first_order"


def configs_from_flags():
  noise_name = "none" if FLAGS.maml else FLAGS.noise
  channels, size, filters = datasets.DATASETS[FLAGS.dataset]
  return dict(
      model=config_lib.ModelConfig(image_size=size, image_channels=channels, num_filters=FLAGS.num_filters or filters,
                                   num_ways=FLAGS.way, noise=noise_name,
                                   batch_norm=FLAGS.batch_norm, logit_noise=FLAGS.logit_noise),
      meta=config_lib.MetaConfig(inner_lr=FLAGS.inner_lr, num_inner_steps=FLAGS.n_steps,
                                 num_mc_samples=FLAGS.n_train_mc_samp,
                                 num_test_mc_samples=FLAGS.n_test_mc_samp, meta_lr=FLAGS.meta_lr,
                                 meta_gradient=meta_gradient_from_flags(),
                                 meta_sgd=FLAGS.meta_sgd),
      episodes=config_lib.EpisodeConfig(FLAGS.way, FLAGS.shot, FLAGS.query, FLAGS.metabatch))


def run_config(configs):
  """Everything a later evaluate.py needs to know about this run."""
  return {**{k: config_lib.dataclasses.asdict(v) for k, v in configs.items()},
          "run": {"dataset": FLAGS.dataset, "seed": FLAGS.seed, "train_split": FLAGS.train_split,
                  "n_train_iters": FLAGS.n_train_iters}}


def write_config(savedir, configs):
  """Saves the run's config; a resumed run must have the same settings.

  A setting that an older version did not write counts as its default.
  """
  path = os.path.join(savedir, "config.json")
  config_lib.save(path + ".new", **configs)
  if os.path.exists(path):
    new = config_lib.load(path + ".new")
    old = {group: {**config_lib.dataclasses.asdict(type(configs[group])()), **values}
           for group, values in config_lib.load(path).items()}
    if old != new:
      os.remove(path + ".new")
      changed = sorted(f"{group}.{key}" for group in new for key in new[group]
                       if old.get(group, {}).get(key) != new[group][key])
      raise config_lib.ConfigError(
          f"{savedir} holds a run with other settings ({', '.join(changed)}): "
          "rerun with its settings to resume, or use a new --savedir")
  os.replace(path + ".new", path)


def train(configs):
  savedir = FLAGS.savedir
  os.makedirs(savedir, exist_ok=True)
  write_config(savedir, configs)
  data_dir = FLAGS.data_dir or os.path.join("..", "shared", "datasets", FLAGS.dataset)
  train_images = datasets.load(FLAGS.dataset, data_dir, FLAGS.train_split, FLAGS.cache_dir)
  episodes.check_fits(configs["episodes"], train_images.shape)
  eval_images = (datasets.load(FLAGS.dataset, data_dir, FLAGS.eval_split, FLAGS.cache_dir)
                 if FLAGS.eval_freq else None)

  model = network.Conv4(configs["model"], seed=FLAGS.seed)
  learner = meta_learner.MetaLearner(model, configs["meta"], configs["episodes"], seed=FLAGS.seed)
  step_var = tf.Variable(0, dtype=tf.int64, name="step")
  # The weights by their stable names ("conv1/kernel", ...; Meta-SGD's "conv1/kernel/inner_lr"),
  # the Adam state and the step.
  # Every random draw is a function of (--seed, step), so the step is the RNG state.
  checkpoint = tf.train.Checkpoint(weights=learner.params, optimizer=learner.optimizer, step=step_var)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(savedir, "checkpoints"),
                                       max_to_keep=3)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    print(f"resumed from {manager.latest_checkpoint} at step {int(step_var)}", flush=True)
  start = int(step_var)
  if start > FLAGS.n_train_iters:
    raise config_lib.ConfigError(
        f"{savedir} holds a run at step {start}, beyond --n_train_iters={FLAGS.n_train_iters}: "
        "raise --n_train_iters or use a new --savedir")

  writer = tf.summary.create_file_writer(os.path.join(savedir, "logs"))
  with writer.as_default():
    tf.summary.text("config", "```\n" + open(os.path.join(savedir, "config.json")).read() + "\n```", 0)

  total = FLAGS.n_train_iters
  batches = episodes.episode_dataset(train_images, configs["episodes"], FLAGS.seed,
                                     start_step=start, num_steps=max(total - start, 0))
  timer_start, timer_step, losses, accs = time.perf_counter(), start, [], []
  for step, batch in batches:
    step = int(step)
    loss, acc, finite = learner.train_step(batch, step)
    if not finite:
      raise FloatingPointError(
          f"non-finite meta-loss or gradient at step {step}; the update was skipped and the last "
          f"good checkpoint ({manager.latest_checkpoint}) kept: lower --meta_lr or --inner_lr")
    step_var.assign(step + 1)
    losses.append(loss)
    accs.append(acc)
    done = step + 1
    if done % FLAGS.log_freq == 0 or done == total:
      rate = (done - timer_step) / (time.perf_counter() - timer_start)
      eta = (total - done) / rate
      print(f"step {done}/{total}  meta-train loss {sum(losses) / len(losses):.4f}  "
            f"acc {100 * sum(accs) / len(accs):.2f}%  {rate:.2f} it/s  ETA {eta / 60:.1f} min",
            flush=True)
      with writer.as_default(step=done):
        tf.summary.scalar("meta_train/loss", sum(losses) / len(losses))
        tf.summary.scalar("meta_train/accuracy", 100 * sum(accs) / len(accs))
        tf.summary.scalar("meta_train/iterations_per_second", rate)
      timer_start, timer_step, losses, accs = time.perf_counter(), done, [], []
    if done % FLAGS.save_freq == 0:
      manager.save(checkpoint_number=done)
    if FLAGS.eval_freq and done % FLAGS.eval_freq == 0:
      held_out(learner, eval_images, configs, writer, done)
  if int(step_var) != (int(manager.latest_checkpoint.rsplit("-", 1)[1])
                       if manager.latest_checkpoint else -1):
    manager.save(checkpoint_number=int(step_var))
  path = os.path.join(savedir, "saved_model")
  export.save(model, learner.params, configs["meta"], run_config(configs), path)
  print(f"exported SavedModel to {path}")


def held_out(learner, images, configs, writer, step):
  """Accuracy on held-out classes (the same seeded episodes every time)."""
  results = evaluation.meta_test(
      lambda s, l, q, i: learner.predict_task(s, l, q, i + EVAL_SEED_OFFSET),
      images, configs["episodes"], FLAGS.n_eval_episodes, FLAGS.seed + EVAL_SEED_OFFSET)
  print(f"step {step}  held-out ({FLAGS.eval_split}) accuracy {results['accuracy']:.2f} "
        f"+- {results['ci95']:.2f}% over {results['num_episodes']} episodes", flush=True)
  with writer.as_default(step=step):
    tf.summary.scalar(f"held_out_{FLAGS.eval_split}/accuracy", results["accuracy"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  try:
    train(configs_from_flags())
  except (config_lib.ConfigError, FloatingPointError) as error:
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  app.run(main)
