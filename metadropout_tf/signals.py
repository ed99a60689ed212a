"""Ctrl-C (SIGINT) and SIGTERM recorded, not acted on mid-computation: a long loop checks
`signum` at a safe point (the end of a training step, of a meta-test episode), saves, and ends.
(An exception raised inside TensorFlow's work, as Python's default Ctrl-C does, can crash it.)"""
import signal


class StopRequests:
  """Records SIGINT and SIGTERM while the block runs; `signum` is the last one received."""

  signum = None

  def __enter__(self):
    def record(signum, _):
      self.signum = signum
    self.previous = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM)}
    return self

  def __exit__(self, *_):
    for s, previous in self.previous.items():
      signal.signal(s, previous)

  @property
  def name(self):
    return signal.Signals(self.signum).name
