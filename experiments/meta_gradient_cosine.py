"""How far the authors' TF 1.12 meta-gradient is from the exact one, at initialisation.

  python experiments/meta_gradient_cosine.py                   # meta-dropout, 20-way and 5-way
  python experiments/meta_gradient_cosine.py --noise=none      # MAML

For real Omniglot meta-train episodes and the paper's network at its initial weights, prints
per episode the cosine between the `authors_tf1` (and `first_order`) meta-gradient and the
`exact` one, the ratio of their norms, and the same ratio for phi's gradient alone.
"""
from absl import app
from absl import flags

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)
import numpy as np

from metadropout_tf import cli
from metadropout_tf import config as config_lib
from metadropout_tf import datasets
from metadropout_tf import episodes
from metadropout_tf import meta_learner
from metadropout_tf import network
from metadropout_tf import rng

flags.DEFINE_list("ways", ["20", "5"], "N of the N-way 1-shot settings to measure")
flags.DEFINE_enum("noise", "multiplicative", ["multiplicative", "none"], "meta-dropout or MAML")
flags.DEFINE_integer("episodes", 5, "episodes per setting")
flags.DEFINE_integer("seed", 0, "initial weights and episodes")
cli.define_data_flags(with_dataset=False)
FLAGS = flags.FLAGS
COMPARED = ("authors_tf1", "first_order")


def task_gradients(model, meta_gradient, task, seed):
  """{name: gradient} of one task's query loss under `meta_gradient` (5 steps, alpha 0.1)."""
  meta = config_lib.MetaConfig(inner_lr=0.1, num_inner_steps=5, meta_gradient=meta_gradient)
  learner = meta_learner.MetaLearner(model, meta, config_lib.EpisodeConfig(
      model.config.num_ways, 1, 15, 1), seed=FLAGS.seed)
  _, _, grads = learner.task_gradients(task, seed)
  return {name: g.numpy().ravel() for name, g in zip(learner.variables_by_name, grads)}


def compare(exact, other, names):
  a = np.concatenate([exact[n] for n in names])
  b = np.concatenate([other[n] for n in names])
  return a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), np.linalg.norm(b) / np.linalg.norm(a)


def main(_):
  console.quiet_python_loggers()
  images, _ = datasets.load("omniglot", cli.data_dir("omniglot"), "trainval", FLAGS.tfds_data_dir)
  for way in map(int, FLAGS.ways):
    model = network.Conv4(config_lib.ModelConfig(num_ways=way, noise=FLAGS.noise), seed=FLAGS.seed)
    episode_config = config_lib.EpisodeConfig(way, 1, 15, 1)
    data = episodes.episode_dataset(images, episode_config, FLAGS.seed, num_steps=FLAGS.episodes,
                                    batched=False)
    for step, task in data:
      seed = rng.step_seed(FLAGS.seed, step)
      exact = task_gradients(model, "exact", task, seed)
      line = f"{way}-way 1-shot, noise={FLAGS.noise}, episode {int(step)}:"
      for meta_gradient in COMPARED:
        other = task_gradients(model, meta_gradient, task, seed)
        cosine, ratio = compare(exact, other, list(exact))
        line += f"  {meta_gradient}: cosine {cosine:.3f}, norm ratio {ratio:.3f}"
        if model.phi:
          _, phi_ratio = compare(exact, other, list(model.phi))
          line += f", phi norm ratio {phi_ratio:.3f}"
      print(line, flush=True)


if __name__ == "__main__":
  app.run(main)
