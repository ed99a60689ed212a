"""Runs one train.py command twice, each into a fresh run directory, and compares the checkpoints.

  python experiments/reproducibility.py --output=results/reproducibility/quickstart.json -- \
      --flagfile=presets/quickstart.cfg --n_train_iters=20 --save_freq=10
  python experiments/reproducibility.py --output=results/reproducibility/20way.json -- \
      --flagfile=presets/omniglot_20way_1shot.cfg --n_train_iters=3 --save_freq=3 --eval_freq=0

Everything after `--` goes to train.py (not --savedir: the script gives each run its own). Prints,
for every checkpoint step both runs saved, how many saved tensors differ and by how much at most,
and writes that JSON (atomically) with the command; exits non-zero if any tensor differs.
"""
import os
import subprocess
import sys
import tempfile

from absl import app
from absl import flags
import numpy as np

from metadropout_tf import console  # before TensorFlow loads
import metadropout_tf  # noqa: F401  (sets TensorFlow's environment before it loads)

from metadropout_tf import checkpoints
from metadropout_tf import files
from metadropout_tf import run_dir

flags.DEFINE_string("output", None, "JSON of the comparison (default: print only)")
flags.DEFINE_string("workdir", None, "where the two run directories go (default: a temporary one)")
FLAGS = flags.FLAGS
TRAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "train.py")


def compare(first, second):
  """{"step": N, "tensors": n, "differing": n, "max_abs_difference": x} per common step."""
  first, second = (run_dir.RunDir(savedir).checkpoints for savedir in (first, second))
  steps = sorted(set(checkpoints.steps_on_disk(first)) & set(checkpoints.steps_on_disk(second)))
  rows = []
  for step in steps:
    a, b = checkpoints.saved_tensors(first, step), checkpoints.saved_tensors(second, step)
    differing = [name for name in a if not np.array_equal(a[name], b[name])]
    largest = max((float(np.max(np.abs(a[n].astype(np.float64) - b[n]))) for n in differing),
                  default=0.0)
    rows.append(dict(step=step, tensors=len(a), differing=len(differing),
                     max_abs_difference=largest))
  return rows


def main(argv):
  console.quiet_python_loggers()
  train_args = argv[1:]
  if not train_args or any(arg.startswith("--savedir") for arg in train_args):
    raise app.UsageError("give train.py's flags after --, without --savedir")
  workdir = FLAGS.workdir or tempfile.mkdtemp(prefix="reproducibility-")
  savedirs = [os.path.join(workdir, name) for name in ("first", "second")]
  for savedir in savedirs:
    if os.path.exists(savedir):
      sys.exit(f"error: {savedir} exists: both runs must start fresh; pass a new --workdir")
    result = subprocess.run([sys.executable, TRAIN, f"--savedir={savedir}", *train_args])
    if result.returncode:
      sys.exit(f"error: train.py exited with {result.returncode} for {savedir}")
  rows = compare(*savedirs)
  if not rows:
    sys.exit("error: the two runs share no checkpoint step: lower --save_freq")
  for row in rows:
    print(f"step {row['step']}: {row['differing']} of {row['tensors']} saved tensors differ "
          f"(largest difference {row['max_abs_difference']:.3g})")
  if FLAGS.output:
    os.makedirs(os.path.dirname(FLAGS.output) or ".", exist_ok=True)
    files.write_json(FLAGS.output, dict(command=["train.py", *train_args], checkpoints=rows))
  if any(row["differing"] for row in rows):
    sys.exit("error: the two runs differ")
  print("bit-identical")


if __name__ == "__main__":
  app.run(main)
