"""The timing both peers of `compare_with_pytorch.py` share (standard library only)."""
import time


def time_calls(function, iters):
  """(seconds of the first call, [seconds of each of the next `iters` calls])."""
  start = time.perf_counter()
  function()
  first = time.perf_counter() - start
  per_iter = []
  for _ in range(iters):
    start = time.perf_counter()
    function()
    per_iter.append(time.perf_counter() - start)
  return first, per_iter
