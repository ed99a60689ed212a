"""The typed configs: validation, the saved form and earlier versions of it, no model code."""
import ast
import os

import pytest

from helpers import ROOT
from metadropout_tf import config as config_lib
from metadropout_tf import errors
from metadropout_tf.config import MetaGradient


def test_a_config_survives_its_saved_form(tmp_path):
  run_config = config_lib.RunConfig(meta=config_lib.MetaConfig(algorithm="anil", inner_lr=0.4),
                                    seed=3)
  config_lib.save(str(tmp_path / "config.json"), run_config)
  assert config_lib.load(str(tmp_path / "config.json")) == run_config


def test_a_config_of_the_version_before_algorithms_reads_as_the_same_run():
  saved = config_lib.RunConfig().to_dict()
  for meta_sgd, algorithm in ((True, "meta_sgd"), (False, "maml")):
    old = {**saved, "meta": {**{k: v for k, v in saved["meta"].items() if k != "algorithm"},
                             "meta_sgd": meta_sgd}}
    assert config_lib.RunConfig.from_dict(old).meta.algorithm == algorithm


def test_an_unknown_field_is_a_config_error():
  with pytest.raises(errors.ConfigError, match="not a config of this version"):
    config_lib.RunConfig.from_dict({"note": "x"})


def test_the_meta_gradient_is_validated_once_into_its_mode():
  assert [m.value for m in MetaGradient] == list(config_lib.META_GRADIENTS)
  assert config_lib.MetaConfig(meta_gradient="authors_tf1").meta_gradient_mode is (
      MetaGradient.AUTHORS_TF1)
  with pytest.raises(errors.ConfigError, match="unknown meta_gradient 'second'"):
    config_lib.MetaConfig(meta_gradient="second")


def test_differences_name_the_dotted_settings():
  a = config_lib.RunConfig()
  b = config_lib.RunConfig(meta=config_lib.MetaConfig(inner_lr=0.2), seed=1)
  assert a.differences(b) == ["meta.inner_lr", "seed"]


def imports_of(module):
  """The metadropout_tf modules and top-level packages `module` imports, transitively."""
  seen, todo, packages = set(), [module], set()
  while todo:
    name = todo.pop()
    if name in seen:
      continue
    seen.add(name)
    path = os.path.join(ROOT, *name.split(".")) + ".py"
    for node in ast.walk(ast.parse(open(path).read())):
      names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
               [f"{node.module}.{alias.name}" for alias in node.names]
               if isinstance(node, ast.ImportFrom) else [])
      for imported in names:
        if imported.startswith("metadropout_tf."):
          parts = imported.split(".")
          candidate = ".".join(parts[:2])
          todo.append(candidate)
        else:
          packages.add(imported.split(".")[0])
  return seen, packages


@pytest.mark.parametrize("module", ["metadropout_tf.config", "metadropout_tf.errors"])
def test_the_config_and_the_errors_load_no_model_code_and_no_tensorflow(module):
  modules, packages = imports_of(module)
  assert modules <= {"metadropout_tf.config", "metadropout_tf.errors", "metadropout_tf.files"}
  assert not packages & {"tensorflow", "keras", "tensorflow_datasets"}
