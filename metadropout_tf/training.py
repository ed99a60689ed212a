"""Meta-training as one call: run directory, checkpoints, the loop, the export.

  training.train(run_config, savedir, schedule, data_dir, tfds_data_dir)

The run directory (`run_dir.RunDir`) holds the whole `RunConfig`, the schedule,
the checkpoints (weights, Adam state, step: every random draw is a function of
the seed and the step, so the step is the RNG state), TensorBoard logs and, at
the end, the SavedModel. One process writes it at a time; rerunning resumes from
the newest checkpoint that reads back, and a run with other settings is refused.
"""
import contextlib
import dataclasses
import json
import os
import resource
import sys
import time

import tensorflow as tf

from metadropout_tf import checkpoints
from metadropout_tf import datasets
from metadropout_tf import devices
from metadropout_tf import episodes
from metadropout_tf import errors
from metadropout_tf import evaluation
from metadropout_tf import export
from metadropout_tf import figures
from metadropout_tf import files
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf import progress
from metadropout_tf import rng
from metadropout_tf import run_dir
from metadropout_tf import signals

@dataclasses.dataclass(frozen=True)
class Schedule:
  """How long and how often: free to change between resumes of a run."""
  num_iterations: int = 40000
  save_every: int = 500
  log_every: int = 50
  eval_every: int = 1000  # 0: never
  num_eval_episodes: int = 100

  def __post_init__(self):
    for name in ("save_every", "log_every", "num_eval_episodes"):
      if getattr(self, name) <= 0:
        raise errors.ConfigError(f"{name} must be positive, got {getattr(self, name)}")
    for name in ("num_iterations", "eval_every"):
      if getattr(self, name) < 0:
        raise errors.ConfigError(f"{name} must not be negative, got {getattr(self, name)}")

  def evaluates_at(self, step):
    """Whether a held-out point belongs to `step` (after `step` iterations; never at 0)."""
    return bool(self.eval_every) and step > 0 and step % self.eval_every == 0


def train(run_config, savedir, schedule, data_dir, tfds_data_dir=None):
  """Meta-trains (or resumes) the run in `savedir`, then exports its SavedModel; returns its path."""
  strategy = devices.make_strategy(run_config.strategy)
  replicas = strategy.num_replicas_in_sync
  if run_config.episodes.meta_batch_size % replicas:
    raise errors.ConfigError(
        f"metabatch {run_config.episodes.meta_batch_size} does not split evenly over {replicas} "
        "replicas: use a multiple of the replica count")
  chief = devices.is_chief(strategy)
  run = run_dir.RunDir(savedir)
  if not chief:  # non-chief workers of multi_worker train alike but write their own folder
    run = run.worker(strategy.cluster_resolver.task_id)
  with run.lock():
    return _train_locked(run_config, run, schedule, data_dir, tfds_data_dir, strategy, chief)


def _train_locked(run_config, run, schedule, data_dir, tfds_data_dir, strategy, chief):
  run.claim(run_config, schedule)
  train_images, _ = datasets.load(run_config.dataset, data_dir, run_config.train_split,
                                  tfds_data_dir)
  episodes.check_fits(run_config.episodes, train_images.shape)
  eval_images = (datasets.load(run_config.dataset, data_dir, run_config.eval_split,
                               tfds_data_dir)[0] if schedule.eval_every else None)

  with strategy.scope():
    model = network.Conv4(run_config.model, seed=rng.stream(run_config.seed, "init"))
  learner = meta_learner.MetaLearner(model, run_config.meta, run_config.episodes,
                                     seed=rng.stream(run_config.seed, "noise"), strategy=strategy)
  step_var = tf.Variable(0, dtype=tf.int64, name="step")  # host-side, not mirrored
  # The weights by their stable names ("conv1/kernel", ...; Meta-SGD's "conv1/kernel/inner_lr"),
  # the Adam state and the step; each checkpoint also carries the config, to restore a lost
  # config.json from (`run_dir`), which a checkpoint of an earlier version may lack.
  config_text = json.dumps(run_config.to_dict(), indent=2, sort_keys=True)
  state = dict(weights=learner.params, optimizer=learner.optimizer, step=step_var)
  checkpoint = tf.train.Checkpoint(**state, config=tf.Variable(config_text, trainable=False))
  manager, restored = run.restore_checkpoint(checkpoint, tf.train.Checkpoint(**state))
  start = int(step_var)
  if restored:
    print(f"resumed from {restored} at step {start}", flush=True)
  if start > schedule.num_iterations:
    raise errors.ConfigError(
        f"{run.path} holds a run at step {start}, beyond --n_train_iters="
        f"{schedule.num_iterations}: raise --n_train_iters or use a new --savedir")

  writer = tf.summary.create_file_writer(run.logs)
  with writer.as_default():
    tf.summary.text("config", "```\n" + config_text + "\n```", start)

  def save(step):
    if manager.latest_checkpoint != os.path.join(manager.directory, f"{checkpoints.PREFIX}-{step}"):
      with unwritable_as_one_error(f"checkpoint {checkpoints.PREFIX}-{step} in {run.checkpoints}"):
        manager.save(checkpoint_number=step)

  with signals.StopRequests() as stop:
    if (schedule.evaluates_at(start)
        and start not in run.held_out_points(run_config.eval_split)):
      # The last run saved this step's checkpoint but died before its held-out point was logged.
      _held_out(learner, eval_images, run_config, schedule, writer, start, stop)
    _loop(learner, train_images, eval_images, run_config, schedule, writer, step_var, save,
          strategy, stop)
    if stop.signum:
      done = int(step_var)
      save(done)
      raise errors.Interrupted(f"interrupted at step {done}: saved a checkpoint in {manager.directory}; "
                        "rerun the same command to resume", stop.signum)
  save(int(step_var))
  path = run.saved_model
  if chief:
    with unwritable_as_one_error(f"the SavedModel {path}"), files.replaced_dir(path) as temporary:
      export.save(learner.algorithm, learner.params, run_config.to_dict(), temporary)
    print(f"exported SavedModel to {path} (peak memory of this process "
          f"{_peak_memory_gib():.1f} GiB)", flush=True)
  return path


@contextlib.contextmanager
def unwritable_as_one_error(what):
  """An I/O failure inside (TensorFlow's writers raise OpError) as errors.WriteError."""
  try:
    yield
  except (OSError, tf.errors.OpError) as error:
    reason = getattr(error, "strerror", None) or getattr(error, "message", None) or str(error)
    # TensorFlow's first line is "{{function_node ...}} path; reason"
    reason = (reason.strip().splitlines() or [type(error).__name__])[0].rpartition("; ")[2]
    raise errors.WriteError(what, reason[:200]) from None


def _peak_memory_gib():
  """The process's peak resident memory (ru_maxrss: KiB on Linux, bytes on macOS)."""
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return peak / (2**30 if sys.platform == "darwin" else 2**20)


def _loop(learner, train_images, eval_images, run_config, schedule, writer, step_var, save,
          strategy, stop):
  """Meta-trains up to `schedule.num_iterations`, or until `stop` holds a signal (then it
  returns at the end of a whole step)."""
  start, total = int(step_var), schedule.num_iterations
  batches = episodes.episode_dataset(train_images, run_config.episodes,
                                     rng.stream(run_config.seed, "episodes"),
                                     start_step=start, num_steps=max(total - start, 0))
  first_line = f"devices: {devices.describe(strategy)}"
  timer_start = timer_step = None
  losses, accs = [], []
  for step, batch in batches:
    step = int(step)
    loss, acc, finite = learner.train_step(batch, step)
    if not finite:
      raise errors.TrainingError(
          f"non-finite meta-loss, gradient or weights at step {step + 1}/{total} (counted as the "
          "progress lines count); nothing from it was saved, "
          "and every checkpoint on disk is finite: lower --meta_lr or --inner_lr")
    done = step + 1
    step_var.assign(done)
    losses.append(loss)
    accs.append(acc)
    if timer_start is None:  # the first step traces: leave it out of the rate and the ETA
      timer_start, timer_step = time.perf_counter(), done
    if done % schedule.log_every == 0 or done == total:
      elapsed = time.perf_counter() - timer_start
      rate = (done - timer_step) / elapsed if done > timer_step else None
      speed = f"{rate:.2f} it/s  ETA {(total - done) / rate / 60:.1f} min" if rate else "tracing"
      print(f"step {done}/{total}  meta-train loss {sum(losses) / len(losses):.4f}  "
            f"acc {100 * sum(accs) / len(accs):.2f}%  {speed}"
            + (f"  ({first_line})" if first_line else ""), flush=True)
      first_line = ""
      with writer.as_default(step=done):
        tf.summary.scalar("meta_train/loss", sum(losses) / len(losses))
        tf.summary.scalar("meta_train/accuracy", 100 * sum(accs) / len(accs))
        if rate:
          tf.summary.scalar("meta_train/iterations_per_second", rate)
        if learner.model.stochastic:
          _perturbation_images(learner, batch, step)
      timer_start, timer_step, losses, accs = time.perf_counter(), done, [], []
    if done % schedule.save_every == 0:
      save(done)
    if schedule.evaluates_at(done) and not stop.signum:
      _held_out(learner, eval_images, run_config, schedule, writer, done, stop)
    if stop.signum:
      return


def _perturbation_images(learner, batch, step):
  """TensorBoard images of the first support image's block-1 and block-2 activations: the query
  pass (top row) and three support-pass draws, four channels side by side."""
  activations = figures.stochastic_activations(learner.model, learner.params,
                                               batch.support_images[0], (1, 2), 3,
                                               rng.step_seed(0, step))
  for block, (deterministic, draws) in activations.items():
    tf.summary.image(f"perturbed_activations/block{block}",
                     figures.activation_grid(deterministic, draws))


def _held_out(learner, images, run_config, schedule, writer, step, stop):
  """Accuracy on held-out classes (the same seeded episodes every time); a stop request
  abandons it (it changes no state)."""
  line = progress.EpisodeProgress(schedule.num_eval_episodes, f"held-out at step {step}")

  def show_or_stop(count, accuracies):
    line(count, accuracies)
    if stop.signum:
      raise _Abandoned()

  try:
    results = evaluation.meta_test(learner.predict_task, images, run_config.episodes,
                                   schedule.num_eval_episodes, run_config.seed,
                                   on_episode=show_or_stop)
  except _Abandoned:
    return
  print(f"step {step}  held-out ({run_config.eval_split}) accuracy {results['accuracy']:.2f} "
        f"+- {results['ci95']:.2f}% over {results['num_episodes']} episodes", flush=True)
  with writer.as_default(step=step):
    tf.summary.scalar(run_dir.held_out_tag(run_config.eval_split), results["accuracy"])
    tf.summary.scalar(run_dir.held_out_tag(run_config.eval_split, "ci95"), results["ci95"])
  writer.flush()  # a kill in the next steps must not lose the point


class _Abandoned(Exception):
  pass
