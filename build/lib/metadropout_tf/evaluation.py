"""Meta-testing: mean accuracy over a fixed, seeded set of episodes (Algorithm 2)."""
from metadropout_tf import episodes as episodes_lib
from metadropout_tf import intervals
from metadropout_tf import rng


def meta_test(predict, images, episode_config, num_episodes, seed, on_episode=None, done=()):
  """Accuracy of `predict` on `num_episodes` tasks drawn from `images`.

  Args:
    predict: (support_images, support_labels, query_images, [2] int64 noise seed) ->
      query probabilities [N*Q, N].
    images: [classes, per_class, H, W, C] of the meta-test classes.
    episode_config: way / shot / query of the tasks.
    num_episodes: how many tasks.
    seed: int; episode i and its noise come from the `eval_episodes` and
      `eval_noise` streams of it (`rng.stream`), so the same seed gives every
      model the same episodes.
    on_episode: optional callback(i, accuracies so far), e.g. for progress.
    done: the accuracies of episodes 0, 1, ... measured before (a resumed meta-test): it goes on
      from the next episode, which is the same one it would have met in one go.
  Returns:
    {"accuracy": mean %, "ci95": 95% half-width %, "num_episodes": n, "accuracies": [%]}.
  """
  accuracies = list(done)[:num_episodes]
  for task, noise_seed in fixed_episodes(images, episode_config, num_episodes, seed,
                                         start=len(accuracies)):
    probs = predict(task.support_images, task.support_labels, task.query_images, noise_seed)
    accuracies.append(intervals.accuracy(probs, task.query_labels))
    if on_episode:
      on_episode(len(accuracies), accuracies)
  return intervals.summary(accuracies)


def fixed_episodes(images, episode_config, num_episodes, seed, start=0):
  """(task, [2] noise seed) of meta-test episode start, start + 1, ... < num_episodes: the same
  for every model."""
  dataset = episodes_lib.episode_dataset(images, episode_config, rng.stream(seed, "eval_episodes"),
                                         start_step=start, num_steps=num_episodes - start,
                                         batched=False)
  noise_seed = rng.stream(seed, "eval_noise")
  for index, task in dataset:
    yield task, rng.step_seed(noise_seed, index)
