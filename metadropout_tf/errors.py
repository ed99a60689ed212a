"""The errors a user sees as one line (what was wrong, what to do); no TensorFlow here, so the
config, the data readers and the CLIs can raise them without loading a model."""


class ConfigError(ValueError):
  """A setting, flag or file cannot be used; the message says what was wrong and what to do."""


class DataError(ConfigError):
  """The official files are missing, incomplete or damaged; the message names the file."""


class TrainingError(RuntimeError):
  """Training cannot go on; the message says why and what to do. Checkpoints are kept."""


class Interrupted(RuntimeError):
  """SIGINT or SIGTERM, stopped at a safe point (training saved a checkpoint, a meta-test its
  episodes); not an error: the CLIs print its message as is."""

  def __init__(self, message, signum):
    super().__init__(message)
    self.signum = signum


class NoUsableCheckpointError(RuntimeError):
  """Checkpoints exist but none reads back: never restart silently over them."""


class WriteError(RuntimeError):
  """A file or folder could not be written (a full disk, a read-only folder); what was there
  before is whole."""

  def __init__(self, path, reason):
    super().__init__(f"could not write {path} ({reason}): nothing written before was lost; "
                     "free space (or make the folder writable) and rerun the same command")


class LockedError(RuntimeError):
  """Another live process holds a lock that refuses a second holder (a run directory's)."""
