"""A run you can trust: resuming through damage, one writer, signals, settings, several devices."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from helpers import (TFDS_DIR, OMNIGLOT_DIR, ROOT, TINY, checkpoint_values, last_line, run,
                      train)
from metadropout_tf import checkpoints
from metadropout_tf import errors
from metadropout_tf import export
from metadropout_tf import run_dir
from metadropout_tf import training


def first_step_logged(result):
  return int([l for l in result.stdout.splitlines() if l.startswith("step ")][0].split()[1]
             .split("/")[0])


@pytest.fixture
def run_copy(finished_run, tmp_path):
  copy = str(tmp_path / "run")
  shutil.copytree(finished_run, copy)
  return copy


@pytest.mark.parametrize("damage", ["deleted", "garbled"])
@pytest.mark.slow
def test_a_lost_checkpoint_index_file_still_resumes_at_the_newest_step(run_copy, damage):
  index = os.path.join(run_copy, "checkpoints", "checkpoint")
  if damage == "deleted":
    os.remove(index)
  else:
    with open(index, "w") as f:
      f.write("model_checkpoint_path: \x00\x01 {{{ not a proto")
  expected = checkpoint_values(run_copy, 4)
  result = train(run_copy, iters=6)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "at step 4" in result.stdout and first_step_logged(result) == 5
  assert checkpoints.steps_on_disk(os.path.join(run_copy, "checkpoints")) == [6, 4, 2]
  assert int(checkpoint_values(run_copy, 4)["step/.ATTRIBUTES/VARIABLE_VALUE"]) == 4
  for key, value in expected.items():  # step 4 was not overwritten by a restart
    np.testing.assert_array_equal(checkpoint_values(run_copy, 4)[key], value)


@pytest.mark.parametrize("damage", ["truncated", "one flipped bit"])
@pytest.mark.slow
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(run_copy, damage):
  """A flipped bit once made the fallback work and the first save fail (TensorFlow's deferred
  restore of the failed read)."""
  directory = os.path.join(run_copy, "checkpoints")
  data = os.path.join(directory, "ckpt-4.data-00000-of-00001")
  with open(data, "r+b") as f:
    if damage == "truncated":
      f.truncate(os.path.getsize(data) // 2)
    else:
      content = bytearray(f.read())
      content[len(content) // 2] ^= 0x10
      f.seek(0)
      f.write(bytes(content))
  os.makedirs(os.path.join(directory, "ckpt-6_temp", "part"))  # an interrupted save's leftover
  result = train(run_copy, iters=4)
  assert result.returncode == 0, result.stderr[-2000:]
  assert f"warning: checkpoint {os.path.join(directory, 'ckpt-4')} is damaged" in result.stderr
  assert "at step 2" in result.stdout and first_step_logged(result) == 3
  assert not os.path.exists(os.path.join(directory, "ckpt-6_temp"))
  assert os.listdir(os.path.join(directory, "damaged"))
  assert int(checkpoint_values(run_copy, 4)["step/.ATTRIBUTES/VARIABLE_VALUE"]) == 4


@pytest.mark.slow
def test_only_damaged_checkpoints_never_restart_silently(run_copy):
  directory = os.path.join(run_copy, "checkpoints")
  for step in (2, 4):
    with open(os.path.join(directory, f"ckpt-{step}.data-00000-of-00001"), "wb") as f:
      f.write(b"garbage")
  result = train(run_copy, iters=6)
  assert result.returncode != 0
  assert last_line(result).startswith("error: none of the checkpoints in"), last_line(result)
  assert checkpoints.steps_on_disk(directory) == [4, 2]


@pytest.mark.parametrize("changed, name", [
    (["--seed=1"], "seed"), (["--train_split=train"], "train_split"),
    (["--meta_gradient=authors_tf1"], "meta.meta_gradient"), (["--inner_lr=0.4"], "meta.inner_lr")])
@pytest.mark.slow
def test_a_changed_defining_setting_is_refused(run_copy, changed, name):
  result = train(run_copy, *changed, iters=6)
  assert result.returncode != 0
  assert f"holds a run with other settings ({name})" in last_line(result), last_line(result)


@pytest.mark.slow
def test_a_run_beyond_the_asked_iterations_is_refused_not_exported(run_copy):
  result = train(run_copy, iters=0)  # would otherwise export step 4's weights as a 0-step run
  assert result.returncode != 0
  assert "holds a run at step 4, beyond --n_train_iters=0" in last_line(result), last_line(result)


@pytest.mark.slow
def test_a_start_that_failed_before_its_first_checkpoint_blocks_nothing(tmp_path):
  savedir = str(tmp_path / "run")
  failed = train(savedir, "--shot=19", "--query=2")  # too many examples: fails after claiming
  assert failed.returncode != 0 and "exceeds the 20 examples" in last_line(failed)
  assert os.path.exists(os.path.join(savedir, "config.json"))
  result = train(savedir, iters=1)
  assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_a_second_writer_is_refused_and_a_stale_lock_taken_over(run_copy):
  holds = ("import fcntl, os, socket, sys, time; fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR);"
           " fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, f'{socket.gethostname()} "
           "{os.getpid()}'.encode()); print('held', flush=True); time.sleep(600)")
  holder = subprocess.Popen([sys.executable, "-c", holds, os.path.join(run_copy, "lock")],
                            stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "held"
    result = train(run_copy, iters=4)
    assert result.returncode != 0
    assert last_line(result).startswith(f"error: {run_copy} is in use by process "), last_line(result)
  finally:
    holder.kill()
    holder.wait()
  result = train(run_copy, iters=4)  # the holder is dead now
  assert result.returncode == 0, result.stderr[-2000:]
  assert "warning: taking over the stale lock of process" in result.stderr
  assert not os.path.exists(os.path.join(run_copy, "lock"))


@pytest.mark.slow
def test_weights_made_non_finite_by_the_update_stop_training_and_are_never_saved(tmp_path):
  savedir = str(tmp_path / "run")
  result = train(savedir, "--meta_lr=1e39", "--save_freq=1", iters=5)  # inf in float32
  assert result.returncode != 0
  # The first step fails: "step 1/5", as the progress line of that step would have said.
  assert "non-finite meta-loss, gradient or weights at step 1/5 " in last_line(result)
  assert checkpoints.steps_on_disk(os.path.join(savedir, "checkpoints")) == []


@pytest.mark.slow
def test_a_resumed_run_keeps_only_the_newest_checkpoints(run_copy):
  """Checkpoints of the earlier process (steps 2 and 4) are pruned like the new ones."""
  result = train(run_copy, iters=10)
  assert result.returncode == 0, result.stderr[-2000:]
  assert checkpoints.steps_on_disk(os.path.join(run_copy, "checkpoints")) == [10, 8, 6]


@pytest.mark.slow
def test_a_held_out_point_lost_to_a_kill_is_measured_when_the_run_resumes(tmp_path):
  """Killed after step 2's checkpoint, before its held-out point reached the log: the resumed
  run measures it first (the same value, as it is seeded), and never measures a logged one again."""
  savedir = str(tmp_path / "run")
  held_out = ("--eval_freq=2", "--n_eval_episodes=2")
  assert train(savedir, *held_out, iters=2).returncode == 0
  measured = run_dir.RunDir(savedir).held_out_points("test")
  assert list(measured) == [2]
  shutil.rmtree(os.path.join(savedir, "logs"))
  resumed = train(savedir, *held_out, iters=4)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert resumed.stdout.count("step 2  held-out") == 1
  points = run_dir.RunDir(savedir).held_out_points("test")
  assert sorted(points) == [2, 4] and points[2] == pytest.approx(measured[2])
  again = train(savedir, *held_out, iters=6)
  assert again.returncode == 0 and "step 4  held-out" not in again.stdout
  assert "step 6  held-out" in again.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.slow
def test_a_signal_saves_a_checkpoint_at_the_interrupted_step(tmp_path, signum):
  savedir = str(tmp_path / "run")
  process = subprocess.Popen(
      [sys.executable, "train.py", f"--savedir={savedir}", "--n_train_iters=100000",
       "--save_freq=1000", *TINY], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True)
  deadline = time.time() + 300
  line = ""
  while not line.startswith("step 3/"):  # a few steps into training
    line = process.stdout.readline()
    assert time.time() < deadline and (line or process.poll() is None)
  process.send_signal(signum)
  _, stderr = process.communicate(timeout=300)
  assert process.returncode == 128 + signum
  message = stderr.strip().splitlines()[-1]
  assert message.startswith("interrupted at step ") and "rerun the same command" in message
  step = int(message.split("at step ")[1].split(":")[0])
  assert step >= 3 and checkpoints.steps_on_disk(os.path.join(savedir, "checkpoints")) == [step]
  assert int(checkpoint_values(savedir)["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"]) == step


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.slow
def test_a_signal_during_start_up_is_one_line_and_leaves_no_held_lock(tmp_path, signum):
  """Before the first step (the run directory claimed, the data loading): no traceback, and the
  next start neither waits nor is refused."""
  savedir = str(tmp_path / "run")
  process = subprocess.Popen(
      [sys.executable, "train.py", f"--savedir={savedir}", "--n_train_iters=4", *TINY],
      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 120
  while not os.path.exists(os.path.join(savedir, "lock")):
    assert time.time() < deadline and process.poll() is None
    time.sleep(0.01)
  process.send_signal(signum)
  stdout, stderr = process.communicate(timeout=120)
  assert process.returncode == 128 + signum, stderr[-1500:]
  assert "Traceback" not in stderr and not stdout.count("step 1/")
  assert stderr.strip().splitlines()[-1] == (
      f"interrupted by {signal.Signals(signum).name}: nothing written was lost; rerun the "
      "same command to continue")
  assert train(savedir, iters=2).returncode == 0


@pytest.mark.slow
def test_ctrl_c_in_a_meta_test_is_one_line_and_keeps_its_progress(finished_run, tmp_path):
  output = str(tmp_path / "result.json")
  process = subprocess.Popen(
      [sys.executable, "evaluate.py", f"--savedir={finished_run}", "--n_test_iters=100000",
       f"--output={output}", f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}"],
      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 120
  while not os.path.exists(output + ".partial"):
    assert time.time() < deadline and process.poll() is None
    time.sleep(0.05)
  process.send_signal(signal.SIGINT)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == 128 + signal.SIGINT
  assert "Traceback" not in stderr
  line = stderr.strip().splitlines()[-1]
  assert line.startswith("interrupted by SIGINT after ") and "kept in" in line, line
  episodes = int(line.split(" after ")[1].split()[0])
  assert len(json.load(open(output + ".partial"))["accuracies"]) == episodes >= 10


@pytest.mark.slow
def test_a_mirrored_run_on_two_devices_ends_at_the_single_device_weights(tmp_path):
  runs = {}
  for strategy in ("default", "mirrored"):
    savedir = str(tmp_path / strategy)
    result = train(savedir, f"--strategy={strategy}", "--logical_cpus=2", "--meta_sgd", iters=3)
    assert result.returncode == 0, result.stderr[-2000:]
    replicas = "2 replicas on /CPU:0, /CPU:1" if strategy == "mirrored" else "1 replica on /CPU:0"
    assert f"(devices: {replicas})" in result.stdout
    runs[strategy] = checkpoint_values(savedir)
  assert runs["default"].keys() == runs["mirrored"].keys()
  for key, value in runs["default"].items():
    np.testing.assert_allclose(runs["mirrored"][key], value, rtol=1e-4, atol=1e-6, err_msg=key)


@pytest.mark.slow
def test_a_metabatch_that_does_not_split_over_the_replicas_is_refused(tmp_path):
  result = train(str(tmp_path / "run"), "--strategy=mirrored", "--logical_cpus=2",
                 "--metabatch=3")
  assert result.returncode != 0
  assert last_line(result).startswith("error: metabatch 3 does not split evenly over 2"), \
      last_line(result)


@pytest.mark.slow
def test_the_console_speaks_when_asked(tmp_path):
  """Its quiet default is checked in test_cli.py's test_train_export_evaluate."""
  loud = train(str(tmp_path / "loud"), "--verbosity=0", iters=1)
  assert loud.returncode == 0 and loud.stderr != ""


@pytest.mark.slow
def test_evaluate_defaults_to_the_runs_settings_and_records_its_config_and_provenance(run_copy):
  result = run("evaluate.py", f"--savedir={run_copy}", "--n_test_iters=2",
               f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode == 0, result.stderr[-2000:]
  results = json.load(open(os.path.join(run_copy, "meta_test_test.json")))
  config = json.load(open(os.path.join(run_copy, "config.json")))
  assert results["config"] == config
  assert results["n_test_mc_samp"] == config["meta"]["num_test_mc_samples"] == 30
  assert results["shot"] == 1 and results["query"] == 3
  where = results["provenance"]
  head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
  assert where["commit"] == (head.stdout.strip() if head.returncode == 0 else None)
  assert where["tensorflow"] == tf.__version__ and where["logical_cpus"] == os.cpu_count()
  assert where["wall_seconds"] > 0 and where["episodes_resumed"] == 0


@pytest.mark.parametrize("damage", ["variables", "graph"])
@pytest.mark.slow
def test_evaluate_names_a_damaged_saved_model_in_one_line(run_copy, damage):
  saved = os.path.join(run_copy, "saved_model")
  target = (os.path.join(saved, "variables", "variables.data-00000-of-00001")
            if damage == "variables" else os.path.join(saved, "saved_model.pb"))
  with open(target, "r+b") as f:
    f.truncate(os.path.getsize(target) // 3)
  result = run("evaluate.py", f"--savedir={run_copy}", "--n_test_iters=2",
               f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode != 0
  assert last_line(result).startswith(f"error: the SavedModel at {saved} is damaged"), \
      last_line(result)


@pytest.mark.slow
def test_evaluate_checks_its_output_path_before_it_starts(run_copy):
  result = run("evaluate.py", f"--savedir={run_copy}", "--output=/nonexistent/dir/out.json")
  assert result.returncode != 0
  assert last_line(result).startswith("error: cannot write --output /nonexistent/dir/out.json"), \
      last_line(result)


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_workers_on_this_host_end_at_the_single_device_weights(tmp_path):
  """multi_worker through TF_CONFIG, two processes on loopback, one replica each."""
  single = str(tmp_path / "single")
  assert train(single, iters=3).returncode == 0
  savedir = str(tmp_path / "workers")
  cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
  workers = [subprocess.Popen(
      [sys.executable, "train.py", f"--savedir={savedir}", "--n_train_iters=3", "--save_freq=2",
       "--strategy=multi_worker", *TINY], cwd=ROOT, text=True, stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                  "task": {"type": "worker", "index": i}})})
      for i in range(2)]
  outputs = [worker.communicate(timeout=300) for worker in workers]
  assert [w.returncode for w in workers] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
  assert os.path.isdir(os.path.join(savedir, "saved_model"))  # worker 0 exports ...
  assert os.path.isdir(os.path.join(savedir, "worker-1", "checkpoints"))  # ... worker 1 stays apart
  expected, got = checkpoint_values(single), checkpoint_values(savedir)
  assert expected.keys() == got.keys()
  for key, value in expected.items():
    np.testing.assert_allclose(got[key], value, rtol=1e-4, atol=1e-6, err_msg=key)


MIRRORED_GRADIENT_CHECK = """
import numpy as np, tensorflow as tf
from metadropout_tf import config, datasets, devices, episodes, meta_learner, network
devices.split_cpu(2)
images, _ = datasets.load("omniglot", {data!r}, "test", {tfds!r})
episode_config = config.EpisodeConfig(5, 1, 3, 4)
batch = next(iter(episodes.episode_dataset(images[:100], episode_config, 0)))[1]
grads = []
for name in ("default", "mirrored"):
  strategy = devices.make_strategy(name)
  with strategy.scope():
    model = network.Conv4(config.ModelConfig(num_ways=5, num_filters=4), seed=1)
  learner = meta_learner.MetaLearner(model, config.MetaConfig(num_inner_steps=1, algorithm="meta_sgd"),
                                     episode_config, strategy=strategy)
  loss, _, values, finite = learner.meta_gradients(batch, tf.constant(3, tf.int64))
  grads.append([float(loss)] + [v.numpy() for v in values])
  print(name, strategy.num_replicas_in_sync)
for a, b in zip(*grads):
  np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
print("equal")
"""


@pytest.mark.slow
def test_the_mirrored_meta_gradient_equals_the_single_device_one():
  code = MIRRORED_GRADIENT_CHECK.format(data=OMNIGLOT_DIR, tfds=TFDS_DIR)
  result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.split() == ["default", "1", "mirrored", "2", "equal"]


def evaluate(savedir, output, *args):
  return run("evaluate.py", f"--savedir={savedir}", f"--output={output}", "--n_test_mc_samp=2",
             f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}", *args)


@pytest.mark.slow
def test_a_killed_meta_test_resumes_at_its_recorded_episodes(finished_run, tmp_path):
  whole = str(tmp_path / "whole.json")
  assert evaluate(finished_run, whole, "--n_test_iters=12").returncode == 0
  expected = json.load(open(whole))["accuracies"]
  output = str(tmp_path / "resumed.json")
  process = subprocess.Popen(
      [sys.executable, "evaluate.py", f"--savedir={finished_run}", f"--output={output}",
       "--n_test_mc_samp=2", "--n_test_iters=1000", f"--data_dir={OMNIGLOT_DIR}",
       f"--tfds_data_dir={TFDS_DIR}"], cwd=ROOT, stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while not os.path.exists(output + ".partial"):
    assert time.time() < deadline and process.poll() is None, "no progress was recorded"
    time.sleep(0.02)
  process.kill()
  process.wait()
  recorded = json.load(open(output + ".partial"))
  assert len(recorded["accuracies"]) >= 10 and not os.path.exists(output)
  np.testing.assert_array_equal(recorded["accuracies"], expected[:len(recorded["accuracies"])])
  marks = [100.0 - a for a in expected[:2]]  # possible values, marking what is taken from the file
  recorded["accuracies"] = marks
  with open(output + ".partial", "w") as f:
    json.dump(recorded, f)
  result = evaluate(finished_run, output, "--n_test_iters=12")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "2 episodes done" in result.stdout
  assert json.load(open(output))["accuracies"] == marks + expected[2:]
  assert not os.path.exists(output + ".partial")


@pytest.mark.parametrize("damage", ["garbled", "other seed", "other model"])
@pytest.mark.slow
def test_a_meta_test_does_not_resume_from_foreign_or_damaged_progress(finished_run, tmp_path,
                                                                      damage):
  whole = str(tmp_path / "whole.json")
  assert evaluate(finished_run, whole, "--n_test_iters=3", "--seed=1").returncode == 0
  output = str(tmp_path / "out.json")
  with open(output + ".partial", "w") as f:
    f.write("{\"accuracies\": [1" if damage == "garbled" else json.dumps(
        dict(json.load(open(whole)), model="a re-exported model", accuracies=[-1.0])))
  seed = "--seed=2" if damage == "other seed" else "--seed=1"
  result = evaluate(finished_run, output, "--n_test_iters=3", seed)
  assert result.returncode == 0, result.stderr[-2000:]
  assert -1.0 not in json.load(open(output))["accuracies"]
  reason = {"garbled": "is damaged", "other seed": "(differing: seed, model)",
            "other model": "(differing: model)"}[damage]
  assert f"warning: {output}.partial" in result.stderr and reason in result.stderr, result.stderr


@pytest.mark.parametrize("values, reason", [
    ([250.0, 100.0, 100.0], "episode 0's accuracy 250.0 is not k/15"),
    ([100.0, 50.0], "episode 1's accuracy 50.0 is not k/15"),
    ([100.0] * 4, "4 episodes recorded, more than --n_test_iters=3")],
    ids=["over-100", "not-k-of-n", "too-many"])
@pytest.mark.slow
def test_a_meta_test_does_not_resume_from_impossible_progress(finished_run, tmp_path, values,
                                                               reason):
  whole = str(tmp_path / "whole.json")
  assert evaluate(finished_run, whole, "--n_test_iters=3").returncode == 0
  output = str(tmp_path / "out.json")
  fingerprint = export.fingerprint(os.path.join(finished_run, "saved_model"))
  with open(output + ".partial", "w") as f:  # all but the values as the run would record them
    json.dump(dict(json.load(open(whole)), model=fingerprint, accuracies=values), f)
  result = evaluate(finished_run, output, "--n_test_iters=3")
  assert result.returncode == 0, result.stderr[-2000:]
  assert json.load(open(output))["accuracies"] == json.load(open(whole))["accuracies"]
  assert f"warning: {output}.partial is damaged" in result.stderr, result.stderr
  assert reason in result.stderr, result.stderr


@pytest.mark.slow
def test_a_folder_at_the_progress_path_is_one_line(finished_run, tmp_path):
  output = str(tmp_path / "out.json")
  os.makedirs(output + ".partial")
  result = evaluate(finished_run, output, "--n_test_iters=3")
  assert result.returncode != 0
  assert last_line(result) == (f"error: {output}.partial is a folder, where evaluate.py keeps "
                               "its progress: move it away and rerun")


@pytest.mark.parametrize("flag", ["--shot=0", "--query=-1", "--n_test_mc_samp=0"])
@pytest.mark.slow
def test_evaluate_refuses_a_non_positive_episode_flag_naming_it(finished_run, tmp_path, flag):
  result = run("evaluate.py", f"--savedir={finished_run}", f"--output={tmp_path / 'out.json'}",
               flag, f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode != 0
  name, value = flag[2:].split("=")
  assert last_line(result) == (f"error: --{name} must be positive, got {value} (leave it out for "
                               "the run's own value)"), last_line(result)


@pytest.mark.slow
def test_a_kill_during_export_leaves_the_previous_saved_model_whole(run_copy):
  saved = os.path.join(run_copy, "saved_model")
  weights = os.path.join(saved, "variables", "variables.data-00000-of-00001")
  before = open(weights, "rb").read()
  process = subprocess.Popen([sys.executable, "train.py", f"--savedir={run_copy}",
                              "--n_train_iters=6", "--save_freq=2", *TINY], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while not any(name.startswith("saved_model.tmp-") for name in os.listdir(run_copy)):
    assert time.time() < deadline and process.poll() is None, "the export never started"
    time.sleep(0.02)
  process.kill()  # SIGKILL in the middle of writing the new SavedModel
  process.wait()
  assert open(weights, "rb").read() == before
  result = run("evaluate.py", f"--savedir={run_copy}", "--n_test_iters=2",
               f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode == 0, result.stderr[-2000:]  # the previous model still answers
  result = train(run_copy, iters=6)  # rerunning finishes the export and sweeps the leftover
  assert result.returncode == 0, result.stderr[-2000:]
  assert sorted(n for n in os.listdir(run_copy) if n.startswith("saved_model")) == ["saved_model"]
  assert open(weights, "rb").read() != before  # step 6's weights, not step 4's


@pytest.mark.slow
def test_tensorboard_shows_the_perturbed_activations(finished_run):
  """Every logged step writes block 1 and 2 activations: query pass and three support draws."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  images = {}
  for path in sorted(os.listdir(os.path.join(finished_run, "logs"))):
    for event in tf.compat.v1.train.summary_iterator(os.path.join(finished_run, "logs", path)):
      for value in event.summary.value:
        if value.tag.startswith("perturbed_activations/"):
          images.setdefault(value.tag, []).append((event.step, value.tensor.string_val))
  assert sorted(images) == ["perturbed_activations/block1", "perturbed_activations/block2"]
  assert [step for step, _ in images["perturbed_activations/block1"]] == [1, 2, 3, 4]
  width, height, png = images["perturbed_activations/block1"][-1][1]
  grid = tf.io.decode_png(png).numpy()
  assert (int(width), int(height)) == (4 * 28, 4 * 28) and grid.shape == (112, 112, 1)
  assert grid.max() > 0


@pytest.mark.slow
def test_negative_logical_cpus_is_one_line(tmp_path):
  result = train(str(tmp_path / "run"), "--logical_cpus=-1", iters=1)
  assert result.returncode != 0
  assert last_line(result).startswith("error: --logical_cpus must be 0"), last_line(result)


@pytest.mark.slow
def test_a_savedir_that_is_a_file_is_one_line(tmp_path):
  savedir = tmp_path / "notes.txt"
  savedir.write_text("not a run")
  result = train(str(savedir), iters=1)
  assert result.returncode != 0
  assert last_line(result) == (f"error: --savedir {savedir} is a file, not a run directory: "
                               "name a folder (new or a run's)"), last_line(result)
  assert savedir.read_text() == "not a run"


def test_tensorflow_s_write_failures_become_one_line():
  failure = tf.errors.ResourceExhaustedError(
      None, None, "{{function_node __wrapped__SaveV2}} /x/ckpt-6_temp/part; No space left on device")
  with pytest.raises(errors.WriteError, match=r"could not write checkpoint ckpt-6 \(No space left "
                     r"on device\): nothing written before was lost"):
    with training.unwritable_as_one_error("checkpoint ckpt-6"):
      raise failure
