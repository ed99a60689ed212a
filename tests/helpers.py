"""What the tests share: tiny models and tasks, the meta-loss and its finite-difference check,
noise statistics, and the processes of the CLIs (only `slow` tests may start one)."""
import contextlib
import os
import socket
import subprocess
import sys

import numpy as np
import tensorflow as tf

import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
from metadropout_tf import algorithms
from metadropout_tf import checkpoints
from metadropout_tf import config as config_lib
from metadropout_tf import inner_loop
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf.config import MetaGradient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS_DIR = os.path.join(ROOT, "..", "shared", "datasets")
OMNIGLOT_DIR = os.path.join(DATASETS_DIR, "omniglot")
MINI_IMAGENET_DIR = os.path.join(DATASETS_DIR, "miniimagenet")
TFDS_DIR = os.path.join(ROOT, ".cache", "tensorflow_datasets")  # shared by the suite's runs
SEED = tf.constant([7, 11], tf.int64)
ALGORITHMS = sorted(algorithms.ALGORITHMS)


@contextlib.contextmanager
def no_network():
  """Fails any attempt to open an internet connection inside the block; yields the attempts."""
  attempts = []
  real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

  def connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
      attempts.append(address)
      raise OSError(f"network access attempted: {address}")
    return real_connect(sock, address)

  def getaddrinfo(host, *args, **kwargs):
    attempts.append(host)
    raise OSError(f"network access attempted: {host}")

  socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
  try:
    yield attempts
  finally:
    socket.socket.connect, socket.getaddrinfo = real_connect, real_getaddrinfo


# Whether the running test is marked slow (conftest sets it): a process may start only then.
current_test_is_slow = [True]


# Tiny runs meta-train on Omniglot's val split (688 classes): it loads in a second, trainval in ~10.
TINY = ["--way=5", "--shot=1", "--query=3", "--metabatch=2", "--n_steps=1", "--num_filters=4",
        "--eval_freq=0", "--log_freq=1", "--train_split=val", f"--data_dir={OMNIGLOT_DIR}",
        f"--tfds_data_dir={TFDS_DIR}"]


def run(script, *args, timeout=600):
  """Runs a script of the repository (or `-m`, a module) in a new Python process."""
  if not current_test_is_slow[0]:
    raise AssertionError("this test starts a process: mark it @pytest.mark.slow")
  target = [script] if script == "-m" else [os.path.join(ROOT, script)]
  return subprocess.run([sys.executable, *target, *args], cwd=ROOT, capture_output=True,
                        text=True, timeout=timeout)


def checkpoint_values(savedir, step=None):
  """{name: value} of checkpoint ckpt-`step` of a run (default: the newest on disk)."""
  directory = os.path.join(savedir, "checkpoints")
  return checkpoints.saved_tensors(directory, step or checkpoints.steps_on_disk(directory)[0])


def last_line(result):
  return result.stderr.strip().splitlines()[-1]


def train(savedir, *args, iters=4):
  return run("train.py", f"--savedir={savedir}", f"--n_train_iters={iters}", "--save_freq=2",
             *TINY, *args)


def tiny_model(noise="multiplicative", dtype="float32", ways=3, size=16, batch_norm="transductive"):
  cfg = config_lib.ModelConfig(image_size=size, num_filters=3, num_ways=ways, noise=noise,
                               batch_norm=batch_norm)
  return network.Conv4(cfg, dtype=dtype)


def random_task(ways=3, shots=2, queries=2, size=16, dtype=tf.float32):
  rng = np.random.default_rng(0)
  images = lambda n: tf.constant(rng.uniform(size=(n, size, size, 1)), dtype)
  labels = lambda n: tf.constant(np.repeat(np.arange(ways), n), tf.int32)
  return images(ways * shots), labels(shots), images(ways * queries), labels(queries)


def algorithm_for(model, name="maml", steps=2, inner_lr=0.1):
  """(algorithm, its own variables as tensors: Meta-SGD's step sizes, else empty)."""
  algorithm = algorithms.build(model, config_lib.MetaConfig(inner_lr=inner_lr, num_inner_steps=steps,
                                                            algorithm=name))
  return algorithm, {k: tf.cast(v.value, model.dtype) for k, v in algorithm.create_variables().items()}


def meta_loss(model, params, task, meta_gradient=MetaGradient.EXACT, steps=2, inner_lr=0.1,
              adapt=None, algorithm="maml"):
  """The query loss after `steps` inner steps (S = 2) of `algorithm` on the support set."""
  support_x, support_y, query_x, query_y = task
  if adapt is None:
    chosen, _ = algorithm_for(model, algorithm, steps, inner_lr)
    fast = inner_loop.adapt(model, params, support_x, support_y, chosen.step_sizes(params), steps,
                            2, SEED, meta_gradient)
  else:
    fast = adapt(model, params, support_x, support_y, inner_lr, steps, 2, SEED, meta_gradient)
  return inner_loop.cross_entropy(inner_loop.query_logits(model, fast, support_x, query_x), query_y)


def assert_meta_gradient_matches_finite_differences(model, names, step=1e-6, per_name=3,
                                                    algorithm="maml"):
  """The exact meta-gradient (float64, 2 inner steps, S = 2) of a few entries of each named
  weight against central differences of the unrolled meta-loss."""
  task = random_task(dtype=tf.float64)
  params = {k: tf.convert_to_tensor(v) for k, v in model.params.items()}
  params.update(algorithm_for(model, algorithm)[1])
  for name in names:
    with tf.GradientTape() as tape:
      tape.watch(params[name])
      loss = meta_loss(model, params, task, algorithm=algorithm)
    analytic = tape.gradient(loss, params[name]).numpy().ravel()
    for index in np.random.default_rng(1).choice(analytic.size, per_name, replace=False):
      delta = np.zeros(analytic.size)
      delta[index] = step
      delta = tf.constant(delta.reshape(params[name].shape))
      plus = meta_loss(model, {**params, name: params[name] + delta}, task, algorithm=algorithm)
      minus = meta_loss(model, {**params, name: params[name] - delta}, task, algorithm=algorithm)
      numeric = (plus - minus).numpy() / (2 * step)
      np.testing.assert_allclose(analytic[index], numeric, rtol=1e-4, atol=1e-8,
                                 err_msg=f"{model.config.noise}, {algorithm}: {name}[{index}]")


def learner_for(model, meta_gradient, ways=3, shots=2, queries=2, algorithm="maml"):
  meta = config_lib.MetaConfig(inner_lr=0.1, num_inner_steps=1, meta_gradient=meta_gradient,
                               algorithm=algorithm)
  return meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(ways, shots, queries, 2))


def query_only_phi_gradients(model, task):
  """d(query loss)/d(phi) with the adapted weights treated as constants."""
  support_x, support_y, query_x, query_y = task
  params = model.params
  fast = inner_loop.adapt(model, params, support_x, support_y,
                          {name: 0.1 for name in model.theta}, 1, 1, SEED)
  fast = {name: tf.stop_gradient(value) if name in model.theta else value
          for name, value in fast.items()}
  with tf.GradientTape() as tape:
    loss = inner_loop.cross_entropy(inner_loop.query_logits(model, fast, support_x, query_x),
                                      query_y)
  return dict(zip(model.phi, tape.gradient(loss, list(model.phi.values()))))


N = 200_000  # draws per noise statistic
NOISE_SEED = tf.constant([3, 4], tf.int64)
MU = np.array([-2.0, 0.0, 1.5], np.float32)


def softplus(x):
  return np.log1p(np.exp(x))


def reference_normal(shape):
  return np.random.default_rng(0).standard_normal(shape)


def generator_weights(outputs):
  """phi weights whose conv output, on a zero input, is `outputs` (one value per channel)."""
  outputs = tf.constant(outputs, tf.float32)
  return {"noise_kernel": tf.zeros([3, 3, 1, outputs.shape[0]]), "noise_bias": outputs}


def perturb(strategy, weights, sample=True, f=None, x=None):
  """The strategy on N examples of 1x1 maps with three channels, f = 1."""
  f = tf.ones([N, 1, 1, 3]) if f is None else f
  x = tf.zeros([N, 1, 1, 1]) if x is None else x
  return strategy.perturb(f, x, weights, sample, NOISE_SEED).numpy().reshape(N, -1)


def assert_same_distribution(samples, reference):
  """Means, spreads and three quantiles of each column agree to within their sampling error."""
  np.testing.assert_allclose(samples.mean(0), reference.mean(0), rtol=0.01, atol=1e-3)
  np.testing.assert_allclose(samples.std(0), reference.std(0), rtol=0.02)
  levels = np.array([0.1, 0.5, 0.9])
  # The reference's share below the samples' q-quantile is q up to two samples' binomial error:
  # five standard errors, a false alarm about once in a million, whatever the column's scale.
  tolerance = 5 * np.sqrt(levels * (1 - levels) * (1 / len(samples) + 1 / len(reference)))
  for column in range(samples.shape[1]):  # the whole distribution, not just two moments
    shares = (reference[:, column][:, None] < np.quantile(samples[:, column], levels)).mean(0)
    np.testing.assert_array_less(np.abs(shares - levels), tolerance)
