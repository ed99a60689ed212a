"""train.py, evaluate.py and the comparison script end to end on real data; resuming; bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from metadropout_tf import cli
from metadropout_tf import config as config_lib
from metadropout_tf import episodes
from metadropout_tf import errors
from metadropout_tf import export
from metadropout_tf import run_labels
from metadropout_tf import variants

from helpers import MINI_IMAGENET_DIR, OMNIGLOT_DIR, ROOT, TFDS_DIR, TINY, checkpoint_values, last_line, run


@pytest.mark.slow
def test_train_export_evaluate(tmp_path):
  savedir = str(tmp_path / "run")
  result = run("train.py", f"--savedir={savedir}", "--n_train_iters=4", "--save_freq=2",
               "--eval_freq=4", "--n_eval_episodes=3", "--n_test_mc_samp=2",
               *[arg for arg in TINY if not arg.startswith("--eval_freq")])
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stderr == "", result.stderr[-2000:]  # TensorFlow's logs stay quiet unless asked
  assert "step 4/4" in result.stdout and "held-out (test) accuracy" in result.stdout
  assert os.listdir(os.path.join(savedir, "logs"))
  result = run("evaluate.py", f"--savedir={savedir}", "--n_test_iters=5", "--n_test_mc_samp=2",
               f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode == 0, result.stderr[-2000:]
  line = [l for l in result.stdout.splitlines() if l.startswith("accuracy: ")][0]
  mean, ci = float(line.split()[1]), float(line.split()[3])
  results = json.load(open(os.path.join(savedir, "meta_test_test.json")))
  assert results["num_episodes"] == 5 and round(results["accuracy"], 2) == mean
  assert round(results["ci95"], 2) == ci and 0 <= mean <= 100


@pytest.mark.slow
def test_killed_run_resumes_at_its_checkpoint_with_the_same_state(tmp_path):
  straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
  assert run("train.py", f"--savedir={straight}", "--n_train_iters=6", "--save_freq=2",
             *TINY).returncode == 0
  process = subprocess.Popen([sys.executable, "train.py", f"--savedir={killed}",
                              "--n_train_iters=1000", "--save_freq=2", *TINY], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while not os.path.exists(os.path.join(killed, "checkpoints", "ckpt-2.index")):
    assert time.time() < deadline and process.poll() is None
    time.sleep(0.2)
  process.send_signal(signal.SIGKILL)
  process.wait()
  latest = tf.train.latest_checkpoint(os.path.join(killed, "checkpoints"))
  killed_at = int(latest.rsplit("-", 1)[1])
  assert killed_at < 6
  result = run("train.py", f"--savedir={killed}", "--n_train_iters=6", "--save_freq=2", *TINY)
  assert result.returncode == 0, result.stderr[-2000:]
  assert f"resumed from {latest} at step {killed_at}" in result.stdout
  first_logged = [l for l in result.stdout.splitlines() if l.startswith("step ")][0]
  assert first_logged.startswith(f"step {killed_at + 1}/6")
  a, b = checkpoint_values(straight), checkpoint_values(killed)
  assert a.keys() == b.keys() and int(b["step/.ATTRIBUTES/VARIABLE_VALUE"]) == 6
  assert int(b["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"]) == 6
  for key in a:  # bit for bit: the step is the whole RNG state
    np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("args, message", [
    (["--data_dir=/nonexistent"], "error: data directory /nonexistent does not exist"),
    (["--shot=10", "--query=11"], "error: shot + query = 21 exceeds the 20 examples per class"),
    (["--way=5000"], "error: way 5000 is larger than the 688 classes available"),
    (["--metabatch=0"], "error: --metabatch must be a positive integer, got 0"),
    (["--inner_lr=-1"], "error: --inner_lr must be a positive finite number, got -1.0"),
    (["--meta_lr=inf"], "error: --meta_lr must be a positive finite number, got inf"),
    (["--meta_lr=nan"], "error: --meta_lr must be a positive finite number, got nan"),
    (["--save_freq=0"], "error: --save_freq must be positive, got 0"),
    (["--log_freq=0"], "error: --log_freq must be positive, got 0"),
    (["--maml", "--noise=additive"], "error: --maml means --noise=none, but --noise=additive"),
    (["--first_order", "--meta_gradient=authors_tf1"], "error: --first_order contradicts"),
    (["--noise=mixup", "--mixup_gamma=0"], "error: --mixup_gamma must be a positive finite number"),
    (["--n_test_mc_samp=0"], "error: --n_test_mc_samp must be a positive integer, got 0"),
])
@pytest.mark.slow
def test_bad_training_input_is_one_clear_line(tmp_path, args, message):
  result = run("train.py", f"--savedir={tmp_path / 'run'}", "--n_train_iters=1", *TINY, *args)
  assert result.returncode != 0
  assert last_line(result).startswith(message), last_line(result)


@pytest.mark.slow
def test_non_finite_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
  savedir = str(tmp_path / "run")
  result = run("train.py", f"--savedir={savedir}", "--n_train_iters=50", "--save_freq=1",
               "--meta_lr=1e12", *TINY)
  assert result.returncode != 0
  line = last_line(result)
  assert line.startswith("error: non-finite meta-loss, gradient or weights at step "), line
  failed = int(line.split("at step ")[1].split("/")[0])  # 1-based, as the progress lines
  kept = tf.train.latest_checkpoint(os.path.join(savedir, "checkpoints"))
  assert kept is None or int(kept.rsplit("-", 1)[1]) == failed - 1
  if kept:
    assert all(np.isfinite(v).all() for v in checkpoint_values(savedir).values())


@pytest.mark.slow
def test_evaluate_without_a_saved_model_is_one_clear_line(tmp_path):
  result = run("evaluate.py", f"--savedir={tmp_path}")
  assert result.returncode != 0
  assert last_line(result).startswith("error: no SavedModel at"), last_line(result)


def one_variant_per_method():
  """A variant of each (noise, Meta-SGD) pair; rows that differ in a hyperparameter run alike."""
  methods = {}
  for name, variant in variants.VARIANTS.items():
    methods.setdefault((variant.noise, variant.algorithm), name)
  return [name for name in methods.values() if name not in ("maml", "metadrop")]


@pytest.mark.parametrize("variant", one_variant_per_method())
@pytest.mark.slow
def test_every_variant_trains_exports_and_predicts(tmp_path, variant, omniglot_test):
  """MAML and meta-dropout themselves run through evaluate.py in test_train_export_evaluate;
  each other variant's SavedModel is loaded here and adapts and predicts on a real episode."""
  savedir = str(tmp_path / "run")
  variant = variants.VARIANTS[variant].flags
  result = run("train.py", f"--savedir={savedir}", "--n_train_iters=2", "--n_test_mc_samp=2",
               *TINY, *variant)
  assert result.returncode == 0, result.stderr[-2000:]
  config = json.load(open(os.path.join(savedir, "config.json")))
  assert config["meta"]["algorithm"] == next(
      (flag.split("=")[1] for flag in variant if flag.startswith("--algorithm=")), "maml")
  model, _ = export.load(os.path.join(savedir, "saved_model"))
  task = episodes.sample_episode(tf.constant(omniglot_test[0][:50]),
                                 config_lib.EpisodeConfig(5, 1, 3, 1), tf.constant([3, 4], tf.int64))
  probabilities = model.adapt_and_predict(task.support_images, task.support_labels,
                                          task.query_images).numpy()
  assert probabilities.shape == (15, 5) and np.isfinite(probabilities).all()
  np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)


# Each paper setting: (episodes, inner_lr, meta_lr, dataset, image size, conv channels).
PAPER_SETTINGS = {
    "omniglot_20way_1shot": ((20, 1, 15, 8), 0.1, 1e-3, "omniglot", 28, 64),
    "omniglot_20way_5shot": ((20, 5, 15, 6), 0.4, 1e-3, "omniglot", 28, 64),
    "miniimagenet_5way_1shot": ((5, 1, 15, 4), 0.01, 1e-4, "miniimagenet", 84, 32),
    "miniimagenet_5way_5shot": ((5, 5, 15, 4), 0.01, 1e-4, "miniimagenet", 84, 32),
}


def parse_preset(path, monkeypatch):
  monkeypatch.chdir(ROOT)  # presets name their base preset relative to the project
  from metadropout_tf import train  # pylint: disable=import-outside-toplevel
  train.FLAGS.unparse_flags()
  train.FLAGS(["train.py", *cli.expand_flagfiles([f"--flagfile={path}"]), "--savedir=unused"])
  return train.run_config_from_flags(), train.FLAGS.n_train_iters


@pytest.mark.parametrize("setting", variants.SETTINGS)
def test_every_preset_parses_to_its_paper_row(monkeypatch, setting):
  """Each Table 1-3 preset: its base setting plus the variant its file name says."""
  assert set(PAPER_SETTINGS) == set(variants.SETTINGS)
  episodes, inner_lr, meta_lr, dataset, size, filters = PAPER_SETTINGS[setting]
  names = sorted(os.listdir(os.path.join(ROOT, "presets", setting)))
  assert names == sorted(f"{name}.cfg" for name in variants.VARIANTS)
  for name in names:
    config, _ = parse_preset(f"presets/{setting}/{name}", monkeypatch)
    variant = variants.VARIANTS[name[:-len(".cfg")]]
    assert (config.model.noise, config.meta.algorithm) == (variant.noise, variant.algorithm), name
    for hyperparameter, value in variant.hyperparameters:
      assert getattr(config.model, hyperparameter) == value, name
    assert config.episodes == config_lib.EpisodeConfig(*episodes)
    assert (config.meta.inner_lr, config.meta.meta_lr) == (inner_lr, meta_lr)
    assert (config.dataset, config.model.image_size, config.model.num_filters) == (
        dataset, size, filters)
    assert config.meta.meta_gradient == "exact"
    assert config.train_split == ("trainval" if dataset == "omniglot" else "train")


@pytest.mark.parametrize("setting", variants.SETTINGS)
def test_the_authors_run_file_presets_use_their_meta_gradient(monkeypatch, setting):
  paper, _ = parse_preset(f"presets/{setting}.cfg", monkeypatch)
  code, iterations = parse_preset(f"presets/{setting}_code.cfg", monkeypatch)
  assert code.meta.meta_gradient == "authors_tf1" and iterations == 60000
  assert code.episodes.meta_batch_size == 4
  assert code.model == paper.model and code.meta.inner_lr == paper.meta.inner_lr


@pytest.mark.parametrize("content, reason", [
    ('{"seed": 0, "model": {', "is not a readable JSON file ("), ("[]", "holds a JSON list")])
def test_a_damaged_run_config_is_named(tmp_path, content, reason):
  path = tmp_path / "config.json"
  path.write_text(content)
  with pytest.raises(errors.ConfigError) as error:
    config_lib.load(str(path))
  assert str(error.value).startswith(f"{path} {reason}"), error.value
  assert str(error.value).endswith(": restore it or use a new --savedir")


@pytest.mark.slow
def test_comparison_script_counts_every_pair_of_the_committed_results():
  result = run("experiments/compare_with_paper.py")
  assert result.returncode == 0, result.stderr[-2000:]
  measured, paper, *counts = result.stdout.splitlines()
  assert measured.startswith("measured: ") and paper.startswith("paper:    metasgd_metadrop")
  assert sum(int(line.split()[0]) for line in counts) == 36  # all pairs of the 9 README rows


@pytest.mark.parametrize("metadrop, verdict", [
    ((95.0, 0.5), "1 matches: maml/metadrop"), ((90.4, 0.5), "1 level here: maml/metadrop"),
    ((85.0, 0.5), "1 reversed: maml/metadrop")])
@pytest.mark.slow
def test_comparison_script_judges_a_pair_against_the_paper(tmp_path, metadrop, verdict):
  """The paper has meta-dropout above MAML; both result layouts are read."""
  (tmp_path / "metadrop").mkdir()
  for path, (accuracy, ci95) in ((tmp_path / "maml.json", (90.0, 0.3)),
                                 (tmp_path / "metadrop" / "meta_test_test.json", metadrop)):
    path.write_text(json.dumps({"accuracy": accuracy, "ci95": ci95}))
  result = run("experiments/compare_with_paper.py", f"--results_dir={tmp_path}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.splitlines()[2].strip() == verdict


@pytest.mark.slow
def test_comparison_script_reads_table_2_rows(tmp_path):
  """The paper has VIB at beta 1e-3 above input & manifold mixup at gamma 1 (94.98 vs 87.00)."""
  for name, accuracy in (("vib_b1e-3", 93.0), ("mixup_g1", 94.0)):
    (tmp_path / f"{name}.json").write_text(json.dumps({"accuracy": accuracy, "ci95": 0.3}))
  result = run("experiments/compare_with_paper.py", f"--results_dir={tmp_path}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.splitlines()[2].strip() == "1 reversed: mixup_g1/vib_b1e-3"


@pytest.mark.slow
def test_comparison_script_without_results_is_one_clear_line(tmp_path):
  result = run("experiments/compare_with_paper.py", f"--results_dir={tmp_path}")
  assert result.returncode != 0
  assert last_line(result).startswith("error: fewer than two results in"), last_line(result)


@pytest.mark.slow
def test_comparison_script_names_a_damaged_result(tmp_path):
  (tmp_path / "maml.json").write_text(json.dumps({"accuracy": 90.0, "ci95": 0.3}))
  (tmp_path / "metadrop.json").write_text('{"accuracy": 9')  # cut off mid-write by hand
  result = run("experiments/compare_with_paper.py", f"--results_dir={tmp_path}")
  assert result.returncode != 0
  assert last_line(result).startswith(f"error: {tmp_path / 'metadrop.json'} is not a readable "
                                      "JSON file ("), result.stderr[-2000:]
  assert last_line(result).endswith("rerun evaluate.py for metadrop, or move the file out of "
                                    "--results_dir")


@pytest.mark.slow
def test_paired_comparison_of_committed_results_is_the_per_episode_difference():
  paths = {"exact": "results/omniglot_5way1shot_2000/maml.json",
           "authors_tf1": "results/omniglot_5way1shot_2000_authors_tf1/maml.json"}
  result = run("experiments/compare_runs.py", *(f"{k}={os.path.join(ROOT, v)}"
                                                for k, v in paths.items()))
  assert result.returncode == 0, result.stderr[-2000:]
  a, b = (np.array(json.load(open(os.path.join(ROOT, p)))["accuracies"]) for p in paths.values())
  mean, ci95 = (a - b).mean(), 1.96 * (a - b).std() / np.sqrt(len(a))
  assert ci95 < np.hypot(*(1.96 * x.std() / np.sqrt(len(x)) for x in (a, b)))  # pairing helps
  assert result.stdout.splitlines()[-1].startswith(
      f"exact - authors_tf1: {mean:+.2f} +- {ci95:.2f} points, paired over 1000 episodes: ")


@pytest.mark.slow
def test_paired_comparison_refuses_results_on_different_episodes(tmp_path):
  for name, seed in (("a", 0), ("b", 1)):
    (tmp_path / f"{name}.json").write_text(json.dumps(dict(
        accuracy=90.0, ci95=1.0, accuracies=[90.0, 90.0], split="test", way=5, shot=1, query=15,
        num_episodes=2, seed=seed)))
  result = run("experiments/compare_runs.py", f"a={tmp_path / 'a.json'}",
               f"b={tmp_path / 'b.json'}")
  assert result.returncode != 0
  assert last_line(result) == ("error: a and b: the results were meta-tested on different "
                               "episodes (differing: seed): evaluate both with the same --seed, "
                               "split and episode settings")


@pytest.mark.slow
def test_paired_comparison_names_a_file_that_is_not_a_result(tmp_path):
  (tmp_path / "curves.json").write_text(json.dumps({"maml": {"points": []}}))
  result = run("experiments/compare_runs.py", f"a={tmp_path / 'curves.json'}",
               f"b={os.path.join(ROOT, 'results/omniglot_5way1shot_2000/maml.json')}")
  assert result.returncode != 0
  assert last_line(result) == (f"error: {tmp_path / 'curves.json'} has no accuracy, ci95, "
                               "accuracies: pass evaluate.py's meta_test_<split>.json, which "
                               "holds the per-episode accuracies")


def test_labelled_runs_keep_their_order_and_refuse_bad_items():
  assert list(run_labels.parse(["b=x=1", "a=y"], "SAVEDIR").items()) == [("b", "x=1"), ("a", "y")]
  for items, minimum, message in (
      (["nolabel"], 1, "'nolabel' is not LABEL=SAVEDIR"),
      (["=dir"], 1, "'=dir' is not LABEL=SAVEDIR"),
      (["a=x", "a=y"], 1, "the label 'a' is given twice"),
      ([], 1, "0 runs given: pass 1 or more LABEL=SAVEDIR arguments"),
      (["a=x"], 2, "1 runs given: pass 2 or more LABEL=SAVEDIR arguments")):
    with pytest.raises(ValueError, match=message):
      run_labels.parse(items, "SAVEDIR", minimum)


@pytest.mark.parametrize("script, first, what", [
    ("experiments/compare_runs.py", "a=a.json", "RESULT_JSON"),
    ("experiments/plot_learning_curves.py", "--output_dir=curves", "RUN_DIR")])
@pytest.mark.slow
def test_a_comparison_script_names_a_run_without_a_label(script, first, what):
  result = run(script, first, "unlabelled")
  assert result.returncode != 0
  assert last_line(result) == (f"error: 'unlabelled' is not LABEL={what}: name each run, "
                               f"e.g. MAML=<{what}>")


@pytest.mark.slow
def test_the_paired_comparison_needs_two_runs():
  result = run("experiments/compare_runs.py", "a=a.json")
  assert result.returncode != 0
  assert last_line(result) == "error: 1 runs given: pass 2 or more LABEL=RESULT_JSON arguments"


@pytest.mark.slow
def test_learning_curves_are_plotted_from_a_runs_logs(tmp_path):
  savedir = str(tmp_path / "run")
  result = run("train.py", f"--savedir={savedir}", "--n_train_iters=4", "--n_test_mc_samp=2",
               *TINY, "--eval_freq=2", "--n_eval_episodes=2")
  assert result.returncode == 0, result.stderr[-2000:]
  output = str(tmp_path / "curves")
  result = run("experiments/plot_learning_curves.py", f"--output_dir={output}", f"tiny={savedir}")
  assert result.returncode == 0, result.stderr[-2000:]
  curves = json.load(open(os.path.join(output, "curves.json")))
  assert [step for step, _, _ in curves["tiny"]["points"]] == [2, 4]
  assert all(interval > 0 for _, _, interval in curves["tiny"]["points"])  # each point's +-
  for name in ("tiny.png", "curves.png"):
    assert open(os.path.join(output, name), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
  no_logs = run("experiments/plot_learning_curves.py", f"--output_dir={output}",
                f"none={tmp_path}")
  assert no_logs.returncode != 0 and last_line(no_logs).startswith("error: no held_out_test")


@pytest.mark.slow
def test_mini_imagenet_trains_exports_and_meta_tests(tmp_path):
  """The paper's miniImageNet preset at a tiny budget: real 84x84x3 episodes through tfds."""
  savedir = str(tmp_path / "mini")
  result = run("train.py", "--flagfile=presets/miniimagenet_5way_1shot/metadrop.cfg",
               f"--savedir={savedir}", "--n_train_iters=2", "--metabatch=2", "--query=2",
               "--n_steps=1", "--num_filters=4", "--eval_freq=0", "--log_freq=1",
               f"--data_dir={MINI_IMAGENET_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode == 0, result.stderr[-2000:]
  config = json.load(open(os.path.join(savedir, "config.json")))
  assert (config["dataset"], config["train_split"]) == ("miniimagenet", "train")
  assert (config["model"]["image_size"], config["model"]["image_channels"]) == (84, 3)
  result = run("evaluate.py", f"--savedir={savedir}", "--n_test_iters=3", "--n_test_mc_samp=2",
               f"--data_dir={MINI_IMAGENET_DIR}", f"--tfds_data_dir={TFDS_DIR}")
  assert result.returncode == 0, result.stderr[-2000:]
  results = json.load(open(os.path.join(savedir, "meta_test_test.json")))
  assert len(results["accuracies"]) == 3 and 0 <= results["accuracy"] <= 100
  assert results["way"] == 5 and results["query"] == 2


def test_a_flagfile_includes_its_base_relative_to_itself(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # not the repository: absl alone would look for ../<base> here
  flags = cli.expand_flagfiles([f"--flagfile={ROOT}/presets/omniglot_20way_1shot/metadrop.cfg",
                                "--seed=3"])
  assert flags[0] == "--dataset=omniglot" and flags[-2:] == ["--noise=multiplicative", "--seed=3"]
  with pytest.raises(errors.ConfigError, match=r"cannot read --flagfile .*nope.cfg"):
    cli.expand_flagfiles(["--flagfile", "nope.cfg"])


def test_a_preset_by_name_is_its_file_and_an_unknown_name_says_what_names_are(tmp_path,
                                                                             monkeypatch):
  monkeypatch.chdir(tmp_path)
  by_name = cli.expand_flagfiles(["--preset", "omniglot_20way_1shot/metadrop", "--seed=3"])
  assert by_name == cli.expand_flagfiles(
      [f"--flagfile={ROOT}/presets/omniglot_20way_1shot/metadrop.cfg", "--seed=3"])
  assert cli.expand_flagfiles(["--preset=quickstart.cfg"]) == cli.expand_flagfiles(
      [f"--flagfile={ROOT}/presets/quickstart.cfg"])
  assert "omniglot_20way_1shot/anil_metadrop" in cli.preset_names()
  with pytest.raises(errors.ConfigError, match=r"no preset 'omniglot_20way/maml': a name is "
                                               r"SETTING/VARIANT \(SETTING one of mini"):
    cli.expand_flagfiles(["--preset=omniglot_20way/maml"])


@pytest.mark.slow
def test_the_console_script_trains_a_preset_from_another_folder(tmp_path):
  """metadropout-train (installed by pip) with a per-row preset, run outside the clone."""
  command = [os.path.join(os.path.dirname(sys.executable), "metadropout-train")]
  if not os.path.exists(command[0]):  # the interpreter's own scripts folder holds it under pip
    command = [sys.executable, "-m", "metadropout_tf.train"]
  result = subprocess.run(
      [*command, "--preset=omniglot_20way_1shot/metadrop",
       f"--savedir={tmp_path / 'run'}", "--n_train_iters=1", *TINY],
      cwd=str(tmp_path), capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-1500:]
  assert json.load(open(tmp_path / "run" / "config.json"))["model"]["noise"] == "multiplicative"


@pytest.mark.slow
def test_the_flags_page_matches_the_flags():
  result = run("-m", "metadropout_tf.flag_docs")
  assert result.returncode == 0, result.stderr[-1500:]
  assert result.stdout == open(os.path.join(ROOT, "docs", "flags.md")).read(), (
      "docs/flags.md is out of date: python -m metadropout_tf.flag_docs > docs/flags.md")


@pytest.mark.slow
@pytest.mark.parametrize("script", ["train.py", "evaluate.py"])
def test_help_lists_the_scripts_flags_and_the_data_flags(script):
  result = run(script, "--help")  # (absl's --help exits with status 1)
  for flag in ("--data_dir", "--tfds_data_dir", "--seed"):
    assert f"  {flag}:" in result.stdout, flag


@pytest.mark.slow
def test_a_missing_run_or_data_directory_is_named_as_such(tmp_path):
  result = run("evaluate.py", "--savedir=no_such_run")
  assert last_line(result).startswith(f"error: no run directory at no_such_run (from the "
                                      f"current folder: {ROOT}/no_such_run)"), last_line(result)
  result = run("train.py", f"--savedir={tmp_path / 'run'}", "--data_dir=missing", "--n_train_iters=1")
  assert "data directory missing (from the current folder: " in last_line(result), last_line(result)
