"""The one list of the paper's variants and its command line."""
import subprocess
import sys

import pytest

from metadropout_tf import perturbations
from metadropout_tf import variants


def test_every_variant_names_a_noise_strategy_and_every_setting():
  for variant in variants.VARIANTS.values():
    assert variant.noise in perturbations.PERTURBATIONS
    if variant.algorithm == "anil":  # not in the paper
      assert variant.paper is None and variant.paper_result("omniglot_20way_1shot") is None
      continue
    assert len(variant.paper) == len(variants.SETTINGS)
    assert all(0 < accuracy < 100 and 0 < interval < 1 for accuracy, interval in variant.paper)
  assert variants.VARIANTS["metadrop"].paper_result("omniglot_20way_1shot") == (96.63, 0.13)
  assert len(variants.COMPARED) == 9 and "additive" not in variants.COMPARED
  assert len(variants.TABLE2) == 12  # MAML, meta-dropout Add. and Mult., 9 baseline rows
  assert variants.VARIANTS["infodrop_b1e-3"].paper_result("miniimagenet_5way_1shot") == (43.78, 0.61)


@pytest.mark.slow
def test_the_command_line_prints_flags_for_the_experiment_script():
  def run(*args):
    return subprocess.run([sys.executable, "-m", "metadropout_tf.variants", *args],
                          capture_output=True, text=True)
  assert run("--flags", "metasgd_metadrop").stdout.split() == ["--noise=multiplicative",
                                                                "--algorithm=meta_sgd"]
  assert run("--compared").stdout.split() == list(variants.COMPARED)
  assert run("--table2").stdout.split() == list(variants.TABLE2)
  assert run("--flags", "vib_b1e-5").stdout.split() == ["--noise=vib", "--kl_weight=1e-05"]
  bad = run("--flags", "mixup")
  assert bad.returncode != 0 and bad.stderr.startswith("usage: python -m metadropout_tf.variants")
