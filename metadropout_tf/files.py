"""Files a crash must not leave half-written, and the locks that keep one writer per file.

Everything is written under a temporary name in the same folder and renamed into
place (a rename within one file system is atomic), so a reader sees the old
file or the new one, never a part.
"""
import contextlib
import fcntl
import glob
import json
import os
import shutil
import socket
import sys
import time
from metadropout_tf import errors

LOCK_POLL_SECONDS = 1


def write_text(path, text):
  """Writes `text` to `path` atomically; errors.WriteError if it cannot (the old file stays)."""
  temporary = f"{path}.tmp-{os.getpid()}"
  try:
    with open(temporary, "w") as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    os.replace(temporary, path)
  except OSError as error:
    with contextlib.suppress(OSError):
      os.remove(temporary)
    raise errors.WriteError(path, error.strerror or error) from None


def write_figure(figure, path, dpi=120):
  """Saves a matplotlib figure as PNG atomically, creating its folder."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  temporary = f"{path}.tmp-{os.getpid()}.png"
  figure.savefig(temporary, dpi=dpi)
  os.replace(temporary, path)


def write_json(path, values):
  write_text(path, json.dumps(values, indent=1, sort_keys=True) + "\n")


def read_json(path, required=()):
  """The JSON object in `path`, or a ValueError whose message names the file and what is wrong
  with it (unreadable, not JSON, not an object, or without one of the `required` keys), for a
  caller to extend with its own advice."""
  try:
    with open(path) as f:
      values = json.load(f)
  except (OSError, ValueError) as error:  # ValueError covers JSON and UTF-8 decoding errors
    raise ValueError(f"{path} is not a readable JSON file ({error})") from None
  if not isinstance(values, dict):
    raise ValueError(f"{path} holds a JSON {type(values).__name__}, not an object")
  missing = [key for key in required if key not in values]
  if missing:
    raise ValueError(f"{path} has no {', '.join(missing)}")
  return values


def check_writable(path):
  """Raises OSError now, not after an hour's work, if `path` cannot be written."""
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise OSError(f"folder {folder} does not exist")
  if os.path.isdir(path):
    raise OSError(f"{path} is a folder")
  check_writable_folder(folder)


def resolved(path):
  """`path`, and what it means if it is relative: "x (here: /abs/x)"."""
  return path if os.path.isabs(path) else f"{path} (from the current folder: {os.path.abspath(path)})"


MIN_FREE_BYTES = 50 * 2**20  # room for a few checkpoints and a SavedModel of the paper's sizes


def check_writable_folder(folder):
  """Creates `folder` if needed and writes a file in it; raises OSError now, naming why, if it
  cannot (read-only, not permitted, a file in the way) or has under 50 MiB free."""
  try:
    os.makedirs(folder, exist_ok=True)
    probe = os.path.join(folder, f".write-test-{os.getpid()}")
    with open(probe, "w") as f:
      f.write("x")
    os.remove(probe)
  except OSError as error:
    raise OSError(f"folder {folder} is not writable ({error.strerror or error})") from None
  free = shutil.disk_usage(folder).free
  if free < MIN_FREE_BYTES:
    raise OSError(f"folder {folder} has only {free / 2**20:.1f} MiB free")


@contextlib.contextmanager
def replaced_dir(path):
  """Yields a temporary folder to fill; on success it replaces `path` whole.

  A crash while filling leaves `path` as it was; the temporary folder is
  removed on failure, or by the next call if the process was killed. Between the two renames at the end a crash can leave no
  `path` at all, never a mix of old and new files.
  """
  for leftover in glob.glob(f"{glob.escape(path)}.tmp-*") + glob.glob(f"{glob.escape(path)}.old-*"):
    shutil.rmtree(leftover, ignore_errors=True)  # of a killed writer (the caller holds the lock)
  temporary = f"{path}.tmp-{os.getpid()}"
  try:
    yield temporary
  except BaseException:
    shutil.rmtree(temporary, ignore_errors=True)
    raise
  old = f"{path}.old-{os.getpid()}"
  if os.path.exists(path):
    os.replace(path, old)
  os.replace(temporary, path)
  shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def lock_file(path, what, refusal=None):
  """Holds the lock file `path` on `what` while the block runs; the file names the holder
  (host PID) for messages.

  The lock is an exclusive `fcntl.flock` on the file: the kernel drops it when its process
  dies, so a lock left by a killed process is free, and taking it over is atomic (two
  processes can never both hold it). A live holder raises errors.LockedError naming it and
  saying `refusal`, or without one is waited for.
  """
  me = f"{socket.gethostname()} {os.getpid()}"
  waiting_for = None
  while True:
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR)
    try:
      fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      os.close(descriptor)
      holder = _read(path) or "(starting)"
      if refusal:
        raise errors.LockedError(f"{what} is in use by process {holder} (host PID): "
                                 f"{refusal}") from None
      if holder != waiting_for:
        print(f"note: waiting for process {holder} (host PID), which holds {what}",
              file=sys.stderr, flush=True)
        waiting_for = holder
      time.sleep(LOCK_POLL_SECONDS)
      continue
    if _same_file(descriptor, path):
      break
    os.close(descriptor)  # its holder released it and removed the file meanwhile: retry
  previous = os.read(descriptor, 4096).decode(errors="replace").strip()
  if previous:
    print(f"warning: taking over the stale lock of process {previous} on {what}",
          file=sys.stderr, flush=True)
  os.ftruncate(descriptor, 0)
  os.pwrite(descriptor, me.encode(), 0)
  try:
    yield
  finally:
    os.remove(path)  # while still locked: a waiter that opened it retries on the new file
    os.close(descriptor)


def _same_file(descriptor, path):
  """Whether `path` still names the file open as `descriptor`."""
  try:
    return os.stat(path).st_ino == os.fstat(descriptor).st_ino
  except FileNotFoundError:
    return False


def _read(path):
  try:
    with open(path) as f:
      return f.read().strip()
  except FileNotFoundError:
    return None


