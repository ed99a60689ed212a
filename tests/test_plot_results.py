"""experiments/plot_results.py: the RESULTS figures from results/ alone."""
import json
import os
import shutil

import pytest

from helpers import ROOT, run


def write_result(folder, label, seed, accuracy, held_out=True):
  result = {"accuracy": accuracy, "ci95": 0.3, "num_episodes": 1000}
  if held_out:
    result["held_out"] = {"split": "test", "points": [[250, accuracy - 3, 1.0],
                                                      [500, accuracy, 0.8]]}
  (folder / label).mkdir(parents=True, exist_ok=True)
  (folder / label / f"seed_{seed}.json").write_text(json.dumps(result))


@pytest.mark.slow
def test_draws_each_section_from_its_results_and_skips_an_empty_one(tmp_path):
  section = tmp_path / "omniglot_20way1shot_2000_seeds"
  for seed in (0, 1, 2):
    write_result(section, "maml", seed, 90.0 + seed)
    write_result(section, "metadrop_authors_tf1", seed, 92.0 + seed, held_out=seed != 1)
  result = run("experiments/plot_results.py", f"--results_dir={tmp_path}", timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert (tmp_path / "figures" / "omniglot_20way1shot_2000_seeds.png").stat().st_size > 10000
  assert (tmp_path / "figures" / "omniglot_20way1shot_2000_seeds_curves.png").exists()
  assert "omniglot_5way1shot_2000_seeds: no results yet" in result.stdout


@pytest.mark.slow
def test_draws_the_committed_results(tmp_path):
  name = "omniglot_5way1shot_2000_seeds"
  shutil.copytree(os.path.join(ROOT, "results", name), tmp_path / name)
  result = run("experiments/plot_results.py", f"--sections={name}",
               f"--results_dir={tmp_path}", timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert (tmp_path / "figures" / f"{name}.png").exists()


@pytest.mark.slow
def test_names_a_damaged_result_and_an_unknown_section(tmp_path):
  section = tmp_path / "omniglot_5way1shot_2000_seeds"
  write_result(section, "maml", 0, 95.0)
  (section / "maml" / "seed_1.json").write_text('{"accuracy": 9')
  result = run("experiments/plot_results.py", f"--results_dir={tmp_path}", timeout=300)
  assert result.returncode != 0
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and "seed_1.json" in last
  result = run("experiments/plot_results.py", "--sections=table9", timeout=300)
  assert result.returncode != 0
  assert result.stderr.strip().splitlines()[-1].startswith("error: --sections: unknown table9")
