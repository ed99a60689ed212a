"""Atomic files and folders, and the locks."""
import errno
import json
import os
import socket
import threading
import time

import pytest

from metadropout_tf import errors
from metadropout_tf import files
from metadropout_tf import run_dir


def test_a_failure_while_filling_a_replacement_folder_keeps_the_old_one(tmp_path):
  target = tmp_path / "saved_model"
  target.mkdir()
  (target / "saved_model.pb").write_text("old")
  with pytest.raises(OSError):  # e.g. a full disk in the middle of an export
    with files.replaced_dir(str(target)) as temporary:
      os.makedirs(temporary)
      with open(os.path.join(temporary, "saved_model.pb"), "w") as f:
        f.write("half")
      raise OSError("No space left on device")
  assert (target / "saved_model.pb").read_text() == "old"
  assert os.listdir(tmp_path) == ["saved_model"]  # no temporary folder left
  with files.replaced_dir(str(target)) as temporary:
    os.makedirs(temporary)
    with open(os.path.join(temporary, "saved_model.pb"), "w") as f:
      f.write("new")
  assert (target / "saved_model.pb").read_text() == "new" and os.listdir(tmp_path) == ["saved_model"]


def test_json_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
  path = str(tmp_path / "results.json")
  files.write_json(path, {"accuracy": 1.0})
  monkeypatch.setattr(json, "dumps", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
  with pytest.raises(OSError):
    files.write_json(path, {"accuracy": 2.0})
  assert json.load(open(path)) == {"accuracy": 1.0}


@pytest.mark.parametrize("content, reason", [
    (None, "is not a readable JSON file ([Errno 2] No such file or directory"),
    ('{"accuracy": 9', "is not a readable JSON file (Expecting"),
    (b"\xff\xfe", "is not a readable JSON file ('utf-8' codec can't decode"),
    ("[1, 2]", "holds a JSON list, not an object"),
    ('{"accuracy": 90.0}', "has no ci95, accuracies")])
def test_read_json_names_the_file_and_what_is_wrong_with_it(tmp_path, content, reason):
  path = tmp_path / "result.json"
  if isinstance(content, bytes):
    path.write_bytes(content)
  elif content is not None:
    path.write_text(content)
  with pytest.raises(ValueError) as error:
    files.read_json(str(path), required=("accuracy", "ci95", "accuracies"))
  assert str(error.value).startswith(f"{path} {reason}"), error.value
  assert "\n" not in str(error.value)


def test_read_json_returns_the_object_it_reads(tmp_path):
  path = str(tmp_path / "result.json")
  files.write_json(path, {"accuracy": 90.0, "ci95": 0.5})
  assert files.read_json(path, required=("accuracy",)) == {"accuracy": 90.0, "ci95": 0.5}


def run_lock(folder):
  return run_dir.RunDir(folder).lock()


def test_the_lock_is_held_for_the_block_and_refuses_a_live_holder(tmp_path):
  with run_lock(str(tmp_path)):
    assert os.path.exists(tmp_path / "lock")
    with pytest.raises(errors.LockedError, match=f"{tmp_path} is in use by process"):
      with run_lock(str(tmp_path)):
        pass
  assert not os.path.exists(tmp_path / "lock")


@pytest.mark.parametrize("content", ["thishost 999999999", "otherhost notapid", ""])
def test_a_lock_file_nobody_holds_is_taken_over(tmp_path, capsys, content):
  """A killed holder's file stays behind, but the kernel released its lock."""
  (tmp_path / "lock").write_text(content)
  with run_lock(str(tmp_path)):
    assert (tmp_path / "lock").read_text().endswith(f" {os.getpid()}")
  assert ("taking over the stale lock" in capsys.readouterr().err) == bool(content)


def test_a_stale_lock_taken_over_at_the_same_instant_has_one_holder(tmp_path, monkeypatch):
  """Eight takers released together on a stale lock, 20 times: never two holders at once."""
  monkeypatch.setattr(files, "LOCK_POLL_SECONDS", 0.001)
  path = str(tmp_path / "lock")
  holding, most, guard = [0], [0], threading.Lock()

  def take(start):
    start.wait()
    with files.lock_file(path, "the run"):
      with guard:
        holding[0] += 1
        most[0] = max(most[0], holding[0])
      time.sleep(0.002)
      with guard:
        holding[0] -= 1

  for _ in range(20):
    with open(path, "w") as f:
      f.write(f"{socket.gethostname()} 999999999")  # a dead process of this host
    start = threading.Event()
    takers = [threading.Thread(target=take, args=(start,)) for _ in range(8)]
    for taker in takers:
      taker.start()
    start.set()
    for taker in takers:
      taker.join(timeout=30)
  assert most[0] == 1 and not os.path.exists(path)


def test_check_writable_names_what_is_wrong(tmp_path):
  with pytest.raises(OSError, match="does not exist"):
    files.check_writable(str(tmp_path / "missing" / "out.json"))
  with pytest.raises(OSError, match="is a folder"):
    files.check_writable(str(tmp_path))
  files.check_writable(str(tmp_path / "out.json"))


def test_a_lock_without_refusal_waits_for_its_holder(tmp_path, capsys, monkeypatch):
  monkeypatch.setattr(files, "LOCK_POLL_SECONDS", 0.05)
  path, order = str(tmp_path / "data.lock"), []

  def second():
    with files.lock_file(path, "the data"):
      order.append("second")

  with files.lock_file(path, "the data"):
    waiter = threading.Thread(target=second)
    waiter.start()
    waiter.join(timeout=0.5)
    assert waiter.is_alive()  # still waiting: this thread's process holds the lock
    order.append("first")
  waiter.join(timeout=10)
  assert order == ["first", "second"] and not os.path.exists(path)
  assert "note: waiting for process" in capsys.readouterr().err


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
  path = tmp_path / "result.json"
  files.write_json(str(path), {"accuracy": 1.0})

  def disk_full(_):
    raise OSError(errno.ENOSPC, "No space left on device")

  monkeypatch.setattr(os, "fsync", disk_full)
  with pytest.raises(errors.WriteError, match=r"could not write .*result.json \(No space left on "
                     r"device\): nothing written before was lost"):
    files.write_json(str(path), {"accuracy": 2.0})
  assert json.loads(path.read_text()) == {"accuracy": 1.0}
  assert os.listdir(tmp_path) == ["result.json"]


def test_a_folder_that_cannot_be_written_or_is_nearly_full_is_named(tmp_path, monkeypatch):
  (tmp_path / "file").write_text("")
  with pytest.raises(OSError, match=r"folder .*file/run is not writable \(Not a directory\)"):
    files.check_writable_folder(str(tmp_path / "file" / "run"))
  files.check_writable_folder(str(tmp_path / "run"))
  assert os.listdir(tmp_path / "run") == []  # the probe is gone
  monkeypatch.setattr(files, "MIN_FREE_BYTES", 2**62)
  with pytest.raises(OSError, match=r"folder .*run has only [0-9.]+ MiB free"):
    files.check_writable_folder(str(tmp_path / "run"))
