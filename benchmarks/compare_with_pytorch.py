"""This project's step against the PyTorch reference of the same step, interleaved: the ratio.

  pip install -e ".[bench]"
  python benchmarks/compare_with_pytorch.py                          # 20-way training step
  python benchmarks/compare_with_pytorch.py --settings=5way --meta_test
  python benchmarks/compare_with_pytorch.py --settings=5way --compile       # and torch.compile

Each repetition runs ours (`benchmark_step.py`), then PyTorch eager (`torch_reference.py`), then
`torch.compile` if asked, each in a fresh process of `--iters` timed calls after a first one;
the medians over every timed call of every repetition give the ratio (PyTorch's seconds over
ours: above 1, ours is faster). Run it on an idle machine: anything else running moves the times.
Writes the times, medians and ratios as JSON with --output.
"""
import json
import os
import statistics
import subprocess
import sys

from absl import app
from absl import flags

from metadropout_tf import files  # standard library only: no TensorFlow in this process

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_reference  # pylint: disable=wrong-import-position

flags.DEFINE_list("settings", ["20way"], f"of {sorted(torch_reference.SETTINGS)}")
flags.DEFINE_integer("repetitions", 3, "interleaved rounds of ours, then PyTorch")
flags.DEFINE_integer("iters", 3, "timed calls per process after its first call")
flags.DEFINE_boolean("meta_test", False, "time one meta-test episode (S = 30) instead of training")
flags.DEFINE_boolean("compile", False, "also time PyTorch with torch.compile (training step; its "
                     "first call compiles for minutes)")
flags.DEFINE_string("datasets_dir", "../shared/datasets", "for ours: real episodes")
flags.DEFINE_string("tfds_data_dir", None, "for ours: tensorflow-datasets' data directory")
flags.DEFINE_string("output", None, "JSON of every time and the ratios")
FLAGS = flags.FLAGS


def timed(command):
  """{"first_call": s, "per_iter": [s, ...]} from the JSON line a benchmark process prints."""
  result = subprocess.run([sys.executable, *command], capture_output=True, text=True)
  if result.returncode:
    sys.exit(f"error: {' '.join(command)} failed:\n{result.stderr[-3000:]}")
  return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


def commands(setting):
  """{peer: command} of one setting."""
  common = [f"--iters={FLAGS.iters}"] + (["--meta_test"] if FLAGS.meta_test else [])
  ours = [os.path.join(HERE, "benchmark_step.py"), f"--settings={setting}", "--json",
          f"--datasets_dir={FLAGS.datasets_dir}", *common]
  if FLAGS.tfds_data_dir:
    ours.append(f"--tfds_data_dir={FLAGS.tfds_data_dir}")
  torch = [os.path.join(HERE, "torch_reference.py"), f"--setting={setting}", *common]
  peers = {"metadropout_tf": ours, "pytorch_eager": torch}
  if FLAGS.compile and not FLAGS.meta_test:
    peers["pytorch_compile"] = torch + ["--compile"]
  return peers


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  unknown = set(FLAGS.settings) - set(torch_reference.SETTINGS)
  if unknown:
    raise app.UsageError(f"no PyTorch reference for {sorted(unknown)}: "
                         f"one of {sorted(torch_reference.SETTINGS)}")
  report = {}
  for setting in FLAGS.settings:
    peers = commands(setting)
    runs = {peer: [] for peer in peers}
    for _ in range(FLAGS.repetitions):
      for peer, command in peers.items():
        runs[peer].append(timed(command))
    medians = {peer: dict(first_call=statistics.median(r["first_call"] for r in rs),
                          per_iter=statistics.median(t for r in rs for t in r["per_iter"]))
               for peer, rs in runs.items()}
    ours = medians["metadropout_tf"]["per_iter"]
    what = "meta-test episode (S = 30)" if FLAGS.meta_test else "meta-training step"
    print(f"{setting}, {what}, medians of {FLAGS.repetitions} x {FLAGS.iters} calls:")
    for peer, median in medians.items():
      ratio = median["per_iter"] / ours
      print(f"  {peer:16s} {median['per_iter']:7.2f} s/call  first call {median['first_call']:6.1f}"
            f" s  {'' if peer == 'metadropout_tf' else f'{ratio:.2f}x ours'}")
    report[setting] = dict(runs=runs, medians=medians,
                           ratios={p: m["per_iter"] / ours for p, m in medians.items()})
  if FLAGS.output:
    files.write_json(FLAGS.output, dict(meta_test=FLAGS.meta_test, settings=report))


if __name__ == "__main__":
  app.run(main)
