"""One progress line format for every long loop over episodes (meta-test, held-out points,
robustness): count, running accuracy, elapsed time and an ETA, every `every` episodes and at
least every `seconds`, none after the last episode (its caller prints the result). Plain lines,
not a redrawn bar, so logs and terminals read alike."""
import time


class EpisodeProgress:
  """Callable(count, accuracies=None) after each episode; prints when a line is due.

  Args:
    total: episodes in the loop.
    label: what is counted, e.g. "meta-test" or "held-out at step 500".
    already_done: episodes finished before this process (a resumed loop), left out of the rate.
    every / seconds: a line every this many episodes, and at least this often.
  """

  def __init__(self, total, label, already_done=0, every=100, seconds=30.0,
               clock=time.perf_counter, write=print):
    self.total, self.label, self.already_done = total, label, already_done
    self.every, self.seconds, self._clock, self._write = every, seconds, clock, write
    self._start = self._last = clock()

  @property
  def elapsed(self):
    """Seconds since this loop (this process's part of it) started."""
    return self._clock() - self._start

  def __call__(self, count, accuracies=None):
    now = self._clock()
    if count == self.total or not (count % self.every == 0 or now - self._last > self.seconds):
      return
    self._last = now
    elapsed = now - self._start
    rate = (count - self.already_done) / elapsed if elapsed > 0 else 0.0
    line = f"{self.label}: {count}/{self.total} episodes"
    if accuracies:
      line += f"  running accuracy {sum(accuracies) / len(accuracies):.2f}%"
    line += f"  {elapsed:.0f} s"
    if rate > 0:
      line += f"  ETA {(self.total - count) / rate / 60:.1f} min"
    self._write(line, flush=True)
