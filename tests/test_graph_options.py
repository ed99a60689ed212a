"""Same command, same numbers: fresh runs at the paper's size end at bit-identical checkpoints."""
import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import graph_options

from conftest import OMNIGLOT_DIR, TFDS_DIR, checkpoint_values, run

# The paper's 5-way network (64 filters, 5 inner steps, 15 queries), one task per meta-batch to
# keep it short: with Grappler's constant folding on, two fresh runs of this already differed
# after one step (the 8-filter runs of the other tests happen to agree either way).
REAL_SIZE = ["--way=5", "--shot=1", "--query=15", "--metabatch=1", "--n_steps=5",
             "--num_filters=64", "--eval_freq=0", "--log_freq=1", "--save_freq=1",
             "--train_split=val", f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}"]


def train(savedir, iters, *args):
  result = run("train.py", f"--savedir={savedir}", f"--n_train_iters={iters}", *REAL_SIZE, *args)
  assert result.returncode == 0, result.stderr[-2000:]


def differing(a, b):
  assert a.keys() == b.keys()
  return [name for name in a if not np.array_equal(a[name], b[name])]


@pytest.mark.slow
def test_two_fresh_real_size_runs_and_a_resumed_one_end_at_bit_identical_checkpoints(tmp_path):
  straight, resumed = tmp_path / "straight", tmp_path / "resumed"
  train(straight, 2)
  train(resumed, 1)  # a fresh process, then another that resumes it
  train(resumed, 2)
  assert not differing(checkpoint_values(straight, 1), checkpoint_values(resumed, 1))
  assert not differing(checkpoint_values(straight, 2), checkpoint_values(resumed, 2))


def test_the_setting_reaches_tensorflow():
  assert graph_options.deterministic()
  try:
    graph_options.set_deterministic(False)
    assert tf.config.optimizer.get_experimental_options()["constant_folding"] is True
  finally:
    graph_options.set_deterministic(True)
  assert tf.config.optimizer.get_experimental_options()["constant_folding"] is False
