"""experiments/results_page.py: the RESULTS tables and figures from results/ alone."""
import json
import os
import shutil

import pytest

from helpers import ROOT, run


def write_result(folder, label, seed, accuracy, held_out=True):
  """A result of two episodes, `accuracy` +- 2 (the first episode the higher)."""
  gradient = label.split("_", 1)[1] if "_" in label else "exact"
  result = {"accuracy": accuracy, "ci95": 0.3, "num_episodes": 2, "split": "test", "way": 20,
            "shot": 1, "query": 15, "seed": 0, "accuracies": [accuracy + 2, accuracy - 2],
            "config": {"meta": {"meta_gradient": gradient}}}
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
    write_result(section, "metadrop", seed, 92.0 + 2 * seed)
    write_result(section, "metadrop_authors_tf1", seed, 92.0 + seed, held_out=seed != 1)
  result = run("experiments/results_page.py", f"--results_dir={tmp_path}", timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  rows = {" | ".join(line.split(" | ")[:2]): line for line in result.stdout.splitlines()
          if line.startswith("| MAML")}
  # maml 90, 91, 92: mean 91, t = 4.303 * 1 / sqrt(3) = 2.48; metadrop's gains 2, 3, 4 over seeds.
  # The last column is the paper's Table 1 row (Omniglot 20-way 1-shot).
  assert rows["| MAML | exact"] == ("| MAML | exact | 90.00 +- 0.30 | 91.00 +- 0.30 | 92.00 +- 0.30 | "
                                    "91.00 +- 2.48 |  | 95.23 +- 0.17 |")
  assert rows["| MAML + Meta-dropout | exact"].endswith(
      "| 94.00 +- 4.97 | +3.00 +- 2.48 over 3 seeds | 96.63 +- 0.13 |")
  # authors_tf1's meta-dropout has no MAML under authors_tf1 here: no gain is claimed.
  assert rows["| MAML + Meta-dropout | authors_tf1"].endswith("| 93.00 +- 2.48 |  | 96.63 +- 0.13 |")
  assert (tmp_path / "figures" / "omniglot_20way1shot_2000_seeds.png").stat().st_size > 10000
  assert (tmp_path / "figures" / "omniglot_20way1shot_2000_seeds_curves.png").exists()
  assert "omniglot_5way1shot_2000_seeds: no results yet" in result.stdout


@pytest.mark.slow
def test_draws_the_committed_results(tmp_path):
  name = "omniglot_5way1shot_2000_seeds"
  shutil.copytree(os.path.join(ROOT, "results", name), tmp_path / name)
  result = run("experiments/results_page.py", f"--sections={name}",
               f"--results_dir={tmp_path}", timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert (tmp_path / "figures" / f"{name}.png").exists()


@pytest.mark.slow
def test_names_a_damaged_result_and_an_unknown_section(tmp_path):
  section = tmp_path / "omniglot_5way1shot_2000_seeds"
  write_result(section, "maml", 0, 95.0)
  (section / "maml" / "seed_1.json").write_text('{"accuracy": 9')
  result = run("experiments/results_page.py", f"--results_dir={tmp_path}", timeout=300)
  assert result.returncode != 0
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and "seed_1.json" in last
  result = run("experiments/results_page.py", "--sections=table9", timeout=300)
  assert result.returncode != 0
  assert result.stderr.strip().splitlines()[-1].startswith("error: --sections: unknown table9")


@pytest.mark.slow
def test_the_results_page_tables_match_the_committed_results():
  result = run("experiments/results_page.py", f"--page={os.path.join(ROOT, 'RESULTS.md')}",
               "--check", timeout=300)
  assert result.returncode == 0, result.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_a_page_s_tables_are_rewritten_and_a_stale_one_fails_the_check(tmp_path):
  section = tmp_path / "omniglot_5way1shot_2000_seeds"
  write_result(section, "maml", 0, 95.0)
  page = tmp_path / "page.md"
  page.write_text("# R\n\n<!-- results_page: omniglot_5way1shot_2000_seeds -->\nold\n"
                  "<!-- /results_page -->\n\n<!-- results_page: other -->\nkept\n"
                  "<!-- /results_page -->\n")
  command = ["experiments/results_page.py", f"--results_dir={tmp_path}", f"--page={page}"]
  stale = run(*command, "--check", timeout=300)
  assert stale.returncode != 0 and "page.md's tables differ from the results" in stale.stderr
  assert run(*command, timeout=300).returncode == 0
  text = page.read_text()
  assert "| MAML | exact | 95.00 +- 0.30 | (one seed) |  |\n<!-- /results_page -->" in text
  assert "old" not in text and "kept" in text
  assert run(*command, "--check", timeout=300).returncode == 0
