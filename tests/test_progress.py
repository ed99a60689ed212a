"""progress.EpisodeProgress: when a line is due and what it says."""
from metadropout_tf import progress


class FakeClock:
  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def lines_of(total, steps, **kwargs):
  """The lines printed for episodes 1..len(steps), `steps[i]` seconds before episode i + 1."""
  clock, printed = FakeClock(), []
  line = progress.EpisodeProgress(total, "meta-test", clock=clock,
                                  write=lambda text, flush: printed.append(text), **kwargs)
  accuracies = []
  for count, seconds in enumerate(steps, 1):
    clock.now += seconds
    accuracies.append(80.0 if count % 2 else 100.0)
    line(count, accuracies)
  return printed


def test_a_line_every_so_many_episodes_with_running_accuracy_and_eta():
  printed = lines_of(300, [0.25] * 250)
  assert printed == ["meta-test: 100/300 episodes  running accuracy 90.00%  25 s  ETA 0.8 min",
                     "meta-test: 200/300 episodes  running accuracy 90.00%  50 s  ETA 0.4 min"]


def test_a_slow_loop_gets_a_line_at_least_every_so_many_seconds():
  printed = lines_of(300, [20.0] * 5)
  assert [line.split(" episodes")[0] for line in printed] == ["meta-test: 2/300", "meta-test: 4/300"]


def test_no_line_after_the_last_episode_and_a_resumed_loop_counts_only_its_own_rate():
  assert lines_of(100, [0.25] * 100) == []
  clock, printed = FakeClock(), []
  line = progress.EpisodeProgress(400, "held-out", already_done=100, clock=clock,
                                  write=lambda text, flush: printed.append(text))
  clock.now += 50.0
  line(200)  # 100 episodes in 50 s: 200 more take 100 s
  assert printed == ["held-out: 200/400 episodes  50 s  ETA 1.7 min"]


def test_elapsed_is_the_loop_s_own_wall_time():
  clock = FakeClock()
  line = progress.EpisodeProgress(10, "meta-test", clock=clock, write=lambda *a, **k: None)
  clock.now += 12.5
  assert line.elapsed == 12.5
