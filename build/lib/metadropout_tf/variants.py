"""The paper's models as one list: name -> train.py flags and the paper's numbers.

Read by the presets' test, the experiment and comparison scripts, the benchmark
and the tests, so a variant is named and described in one place.

  python -m metadropout_tf.variants                # every name
  python -m metadropout_tf.variants --flags maml   # its train.py flags, one line
  python -m metadropout_tf.variants --table2       # the Table 2 rows (--compared: Tables 1, 3)
"""
import dataclasses
import sys

# The paper's settings (columns of Tables 1-3).
SETTINGS = ("omniglot_20way_1shot", "omniglot_20way_5shot", "miniimagenet_5way_1shot",
            "miniimagenet_5way_5shot")


@dataclasses.dataclass(frozen=True)
class Variant:
  """One row of the paper's tables.

  Attributes:
    name: preset file name and results key.
    row: the paper's row label.
    tables: the tables it appears in.
    noise: `--noise` (a key of `perturbations.PERTURBATIONS`).
    algorithm: `--algorithm` (one of `config.ALGORITHMS`).
    paper: (accuracy %, 95% interval) per setting of SETTINGS, Tables 1-3 of the paper; None for
      a model the paper does not have (ANIL).
    hyperparameters: (flag name, value) pairs, e.g. (("kl_weight", 1e-4),).
  """
  name: str
  row: str
  tables: tuple
  noise: str
  algorithm: str
  paper: tuple
  hyperparameters: tuple = ()

  @property
  def flags(self):
    """The variant's train.py flags (beside a base preset)."""
    return ([f"--noise={self.noise}"] + [f"--{k}={v}" for k, v in self.hyperparameters]
            + ([f"--algorithm={self.algorithm}"] if self.algorithm != "maml" else []))

  def paper_result(self, setting):
    """(accuracy %, interval) of the paper in `setting`, None if the paper has no such row."""
    return self.paper[SETTINGS.index(setting)] if self.paper else None


VARIANTS = {v.name: v for v in [
    Variant("maml", "MAML", (1, 2, 3), "none", "maml",
            ((95.23, 0.17), (98.38, 0.07), (49.58, 0.65), (64.55, 0.52))),
    Variant("metadrop", "MAML + Meta-dropout", (1, 2, 3), "multiplicative", "maml",
            ((96.63, 0.13), (98.73, 0.06), (51.93, 0.67), (67.42, 0.52))),
    Variant("metasgd", "Meta-SGD", (1,), "none", "meta_sgd",
            ((96.16, 0.14), (98.54, 0.07), (48.30, 0.64), (65.55, 0.56))),
    Variant("metasgd_metadrop", "Meta-SGD + Meta-dropout", (1,), "multiplicative", "meta_sgd",
            ((97.02, 0.13), (99.05, 0.05), (50.87, 0.63), (65.55, 0.57))),
    Variant("additive", "Meta-dropout, Add. (lambda 0.1)", (2,), "additive", "maml",
            ((96.55, 0.14), (99.04, 0.05), (50.25, 0.66), (66.78, 0.53))),
    Variant("fixed_gaussian", "Fixed Gaussian", (3,), "fixed_gaussian", "maml",
            ((95.44, 0.17), (98.99, 0.06), (49.39, 0.63), (66.84, 0.54))),
    Variant("independent_gaussian", "Independent Gaussian", (3,), "independent_gaussian", "maml",
            ((94.36, 0.18), (98.26, 0.08), (50.31, 0.64), (66.97, 0.54))),
    Variant("weight_gaussian", "Weight Gaussian", (3,), "weight_gaussian", "maml",
            ((94.32, 0.18), (98.35, 0.07), (49.37, 0.64), (64.78, 0.54))),
    Variant("deterministic", "Deterministic meta-dropout", (3,), "deterministic", "maml",
            ((95.99, 0.14), (97.78, 0.09), (50.75, 0.63), (65.62, 0.53))),
    Variant("learned_variance", "Meta-dropout w/ learned variance", (3,), "learned_variance", "maml", ((95.98, 0.15), (98.87, 0.06), (50.93, 0.68), (66.15, 0.56))),
    Variant("mixup_g0.2", "Input & manifold mixup, gamma 0.2", (2,), "mixup", "maml",
            ((89.78, 0.25), (97.86, 0.08), (48.62, 0.66), (63.86, 0.53)), (("mixup_gamma", 0.2),)),
    Variant("mixup_g1", "Input & manifold mixup, gamma 1", (2,), "mixup", "maml",
            ((87.00, 0.28), (97.27, 0.10), (48.24, 0.62), (62.32, 0.54)), (("mixup_gamma", 1),)),
    Variant("mixup_g2", "Input & manifold mixup, gamma 2", (2,), "mixup", "maml",
            ((87.26, 0.28), (97.14, 0.17), (48.42, 0.64), (62.56, 0.55)), (("mixup_gamma", 2),)),
    Variant("vib_b1e-5", "VIB, beta 1e-5", (2,), "vib", "maml",
            ((92.09, 0.22), (98.85, 0.07), (48.12, 0.65), (64.78, 0.54)), (("kl_weight", 1e-5),)),
    Variant("vib_b1e-4", "VIB, beta 1e-4", (2,), "vib", "maml",
            ((93.01, 0.20), (98.80, 0.07), (46.75, 0.63), (64.07, 0.54)), (("kl_weight", 1e-4),)),
    Variant("vib_b1e-3", "VIB, beta 1e-3", (2,), "vib", "maml",
            ((94.98, 0.16), (98.75, 0.07), (47.59, 0.60), (63.30, 0.53)), (("kl_weight", 1e-3),)),
    Variant("infodrop_b1e-5", "Information dropout, beta 1e-5", (2,), "information_dropout", "maml", ((94.49, 0.17), (98.50, 0.07), (50.36, 0.68), (65.91, 0.55)),
            (("kl_weight", 1e-5),)),
    Variant("infodrop_b1e-4", "Information dropout, beta 1e-4", (2,), "information_dropout", "maml", ((94.36, 0.17), (98.53, 0.07), (49.14, 0.63), (64.96, 0.54)),
            (("kl_weight", 1e-4),)),
    Variant("infodrop_b1e-3", "Information dropout, beta 1e-3", (2,), "information_dropout", "maml", ((94.28, 0.17), (98.65, 0.07), (43.78, 0.61), (63.36, 0.56)),
            (("kl_weight", 1e-3),)),
    # Not in the paper: does meta-dropout help when only the head adapts?
    Variant("anil", "ANIL", (), "none", "anil", None),
    Variant("anil_metadrop", "ANIL + Meta-dropout", (), "multiplicative", "anil", None),
]}

# The rows of Tables 1 and 3: the README's equal-budget comparison.
COMPARED = tuple(name for name, v in VARIANTS.items() if {1, 3} & set(v.tables))
# The rows of Table 2 (perturbation baselines in MAML's inner loop, and meta-dropout's two noises).
TABLE2 = tuple(name for name, v in VARIANTS.items() if 2 in v.tables)


def main(argv):
  if len(argv) == 3 and argv[1] == "--flags" and argv[2] in VARIANTS:
    print(" ".join(VARIANTS[argv[2]].flags))
  elif len(argv) == 2 and argv[1] == "--compared":
    print(" ".join(COMPARED))
  elif len(argv) == 2 and argv[1] == "--table2":
    print(" ".join(TABLE2))
  elif len(argv) == 1:
    print(" ".join(VARIANTS))
  else:
    sys.exit(f"usage: python -m metadropout_tf.variants [--compared | --table2 | --flags NAME], NAME one of "
             f"{', '.join(VARIANTS)}")


if __name__ == "__main__":
  main(sys.argv)
