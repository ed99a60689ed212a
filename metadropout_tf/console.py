"""A quiet console: the project's own lines, not TensorFlow's INFO noise.

Imported by the command-line scripts before TensorFlow, which it loads itself (its
C++ log level is read once, at load). Without absl's `--verbosity` flag on the command line,
TensorFlow's C++ lines (the oneDNN banner, CUDA probing on machines without a
GPU) and the INFO / WARNING lines of absl and TensorFlow's Python logger are
hidden; any `--verbosity=N` brings them back (TF_CPP_MIN_LOG_LEVEL still wins).
"""
import contextlib
import logging as _std_logging
import os
import sys

VERBOSE = any(arg == "-v" or arg.startswith(("--verbosity", "-v=")) for arg in sys.argv[1:])


@contextlib.contextmanager
def _stderr_to_devnull():
  """Points file descriptor 2 at /dev/null: TensorFlow's C++ libraries log through abseil
  before its log is initialised, which no environment variable silences."""
  sys.stderr.flush()
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  try:
    yield
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


if not VERBOSE:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  with _stderr_to_devnull():
    import tensorflow  # noqa: F401  pylint: disable=unused-import,g-import-not-at-top


def quiet_python_loggers():
  """Call in main(), after absl parsed the flags (it sets its verbosity then)."""
  if VERBOSE:
    return
  from absl import logging  # pylint: disable=import-outside-toplevel
  logging.set_verbosity(logging.ERROR)
  _std_logging.getLogger("tensorflow").setLevel(_std_logging.ERROR)
