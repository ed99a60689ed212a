"""Where and with what a result was measured, kept in the result's JSON (not in the docs): the
code's commit (if it runs from a git clone), the library versions and the machine."""
import datetime
import os
import platform
import subprocess

import tensorflow as tf

from metadropout_tf import cli


def _git(*args):
  try:
    return subprocess.run(["git", "-C", cli.REPOSITORY, *args], capture_output=True, text=True,
                          timeout=10, check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None


def _cpu_model():
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def record(wall_seconds=None):
  """{commit, uncommitted changes, versions, machine, date[, wall_seconds]} of this process."""
  commit = _git("rev-parse", "HEAD")
  status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
  values = {"commit": commit, "uncommitted_changes": bool(status) if commit else None,
            "tensorflow": tf.__version__, "python": platform.python_version(),
            "cpu": _cpu_model(), "logical_cpus": os.cpu_count(),
            "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds")}
  if wall_seconds is not None:
    values["wall_seconds"] = round(wall_seconds, 1)
  return values
