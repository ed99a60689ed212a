"""A quiet console: the project's own lines, not TensorFlow's INFO noise.

Imported by the command-line scripts before TensorFlow, which it loads itself (its
C++ log level is read once, at load). Without absl's `--verbosity` flag on the command line,
TensorFlow's C++ lines (the oneDNN banner, CUDA probing on machines without a
GPU) and the INFO / WARNING lines of absl and TensorFlow's Python logger are
hidden; any `--verbosity=N` brings them back (TF_CPP_MIN_LOG_LEVEL still wins).

Ctrl-C (SIGINT) or SIGTERM where no one handles them (start-up, a meta-test; the training loop
saves a checkpoint first) ends the process with one line, not a traceback.
"""
import contextlib
import logging as _std_logging
import os
import signal
import sys

VERBOSE = any(arg == "-v" or arg.startswith(("--verbosity", "-v=")) for arg in sys.argv[1:])


class _Interrupted(KeyboardInterrupt):
  """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that every `finally` runs (locks)."""


def _raise_interrupted(signum, _):
  raise _Interrupted(signum)


def _interrupted_in_one_line(kind, value, traceback):
  if not issubclass(kind, KeyboardInterrupt):
    return sys.__excepthook__(kind, value, traceback)
  signum = value.args[0] if isinstance(value, _Interrupted) else signal.SIGINT
  print(f"interrupted by {signal.Signals(signum).name}: nothing written was lost; rerun "
        "the same command to continue", file=sys.stderr, flush=True)
  sys.stdout.flush()
  os._exit(128 + signum)  # the status a signal gives; every `finally` has run


signal.signal(signal.SIGTERM, _raise_interrupted)
sys.excepthook = _interrupted_in_one_line


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
