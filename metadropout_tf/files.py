"""Files a crash must not leave half-written, and the locks that keep one writer per file.

Everything is written under a temporary name in the same folder and renamed into
place (a rename within one file system is atomic), so a reader sees the old
file or the new one, never a part.
"""
import contextlib
import glob
import json
import os
import shutil
import socket
import sys
import time
from metadropout_tf import errors

LOCK_POLL_SECONDS = 1
LOCK_WRITE_SECONDS = 5  # an empty lock file younger than this is being written, not stale


def write_text(path, text):
  """Writes `text` to `path` atomically."""
  temporary = f"{path}.tmp-{os.getpid()}"
  with open(temporary, "w") as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(temporary, path)


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
  if not os.access(folder, os.W_OK):
    raise OSError(f"folder {folder} is not writable")


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
  """Holds the lock file `path` (this host and PID) on `what` while the block runs.

  A lock whose process is gone (same host, dead PID) is taken over with a warning. A live
  holder raises errors.LockedError naming it and saying `refusal`, or without one is waited for.
  """
  me = f"{socket.gethostname()} {os.getpid()}"
  waiting_for = None
  while True:
    try:
      descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
      break
    except FileExistsError:
      holder = _read(path)
      if holder is None:
        continue  # released between our two calls
      if not holder and _age(path) < LOCK_WRITE_SECONDS:
        time.sleep(LOCK_POLL_SECONDS)  # just created: its holder is writing its name
        continue
      if not _is_dead(holder):
        if refusal:
          raise errors.LockedError(f"{what} is in use by process {holder} (host PID): {refusal}") from None
        if holder != waiting_for:
          print(f"note: waiting for process {holder} (host PID), which holds {what}",
                file=sys.stderr, flush=True)
          waiting_for = holder
        time.sleep(LOCK_POLL_SECONDS)
        continue
      print(f"warning: taking over the stale lock of process {holder} on {what}",
            file=sys.stderr, flush=True)
      with contextlib.suppress(FileNotFoundError):
        os.remove(path)
  with os.fdopen(descriptor, "w") as f:
    f.write(me)
  try:
    yield
  finally:
    if _read(path) == me:
      os.remove(path)


def _age(path):
  try:
    return time.time() - os.path.getmtime(path)
  except FileNotFoundError:
    return 0.0


def _read(path):
  try:
    with open(path) as f:
      return f.read().strip()
  except FileNotFoundError:
    return None


def _is_dead(holder):
  """Whether the lock's process surely no longer runs (only knowable on this host)."""
  host, _, pid = holder.rpartition(" ")
  if host != socket.gethostname() or not pid.isdigit():
    return not pid.isdigit()  # another host's lock is trusted; garbage is not
  try:
    os.kill(int(pid), 0)
  except ProcessLookupError:
    return True
  except PermissionError:
    return False
  return False
