"""Trained models shipped in the repository's `models/`, loadable by name.

  from metadropout_tf import pretrained
  model, run_config = pretrained.load("omniglot_5way1shot_metadrop_seed0")
  probabilities = model.adapt_and_predict(support_images, support_labels, query_images)

`models/manifest.json` names each model with its setting, budget, seed, meta-gradient, its
meta-test accuracy and interval, the episodes they were measured on, and the sha256 of every
file; `load` checks every file against it before TensorFlow reads one. `python evaluate.py
--model=NAME` meta-tests a shipped model like a run's.

  python -m metadropout_tf.pretrained                      # the shipped models
  python -m metadropout_tf.pretrained --add NAME RUN_DIR RESULT_JSON ITERATIONS
                                                           # ships a run's SavedModel
"""
import hashlib
import os
import shutil
import sys

from metadropout_tf import errors
from metadropout_tf import export
from metadropout_tf import files
from metadropout_tf import run_dir

MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
MANIFEST = "manifest.json"
FIRST_EPISODES = 20  # the per-episode accuracies kept in the manifest, for checking a copy


def manifest(models_dir=MODELS_DIR):
  """{name: entry} of the shipped models ({} if there are none)."""
  path = os.path.join(models_dir, MANIFEST)
  if not os.path.exists(path):
    return {}
  try:
    return files.read_json(path, required=("models",))["models"]
  except ValueError as error:
    raise errors.ConfigError(f"{error}: restore models/{MANIFEST} from the repository") from None


def sha256(path):
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def path(name, models_dir=MODELS_DIR):
  """The SavedModel folder of shipped model `name`, once every file matches its sha256."""
  models = manifest(models_dir)
  if name not in models:
    raise errors.ConfigError(f"no shipped model {name!r}: choose one of {sorted(models)} "
                             "(python -m metadropout_tf.pretrained lists them)")
  folder = os.path.join(models_dir, name)
  for relative, expected in models[name]["sha256"].items():
    file_path = os.path.join(folder, relative)
    if not os.path.exists(file_path):
      raise errors.ConfigError(f"{file_path} of shipped model {name} is missing: restore "
                               "models/ from the repository (git checkout -- models)")
    if sha256(file_path) != expected:
      raise errors.ConfigError(f"{file_path} of shipped model {name} is damaged (its sha256 "
                               "differs from the manifest's): restore it with git checkout -- "
                               "models")
  return folder


def load(name, models_dir=MODELS_DIR):
  """(the SavedModel, loaded with plain TensorFlow, its RunConfig) of shipped model `name`."""
  return export.load(path(name, models_dir))


def add(name, run_path, result_path, iterations, models_dir=MODELS_DIR):
  """Copies the SavedModel of the run at `run_path` into models/NAME and records it, with the
  meta-test result at `result_path` (evaluate.py's JSON), in the manifest."""
  result = files.read_json(result_path, required=("accuracy", "ci95", "accuracies", "config"))
  config = result["config"]
  source = run_dir.RunDir(run_path).saved_model
  target = os.path.join(models_dir, name)
  with files.replaced_dir(target) as temporary:
    shutil.copytree(source, temporary, dirs_exist_ok=True)
  hashes = {os.path.relpath(os.path.join(root, file_name), target):
            sha256(os.path.join(root, file_name))
            for root, _, names in os.walk(target) for file_name in sorted(names)}
  meta = config["meta"]
  entry = dict(
      dataset=config["dataset"], way=result["way"], shot=result["shot"],
      noise=config["model"]["noise"],
      algorithm=meta.get("algorithm", "meta_sgd" if meta.get("meta_sgd") else "maml"),
      meta_gradient=meta["meta_gradient"], seed=config["seed"], iterations=iterations,
      accuracy=result["accuracy"], ci95=result["ci95"], num_episodes=result["num_episodes"],
      episodes={key: result[key] for key in ("split", "way", "shot", "query", "n_test_mc_samp",
                                               "seed")},
      first_accuracies=result["accuracies"][:FIRST_EPISODES], result=os.path.relpath(
          result_path, os.path.dirname(models_dir)), sha256=hashes)
  models = {**manifest(models_dir), name: entry}
  files.write_json(os.path.join(models_dir, MANIFEST), {"models": dict(sorted(models.items()))})
  return entry


def main(argv):
  try:
    if len(argv) == 6 and argv[1] == "--add":
      entry = add(argv[2], argv[3], argv[4], int(argv[5]))
      print(f"shipped {argv[2]}: {entry['accuracy']:.2f} +- {entry['ci95']:.2f}%, "
            f"{len(entry['sha256'])} files")
    elif len(argv) == 1:
      for name, entry in manifest().items():
        print(f"{name}: {entry['dataset']} {entry['way']}-way {entry['shot']}-shot, "
              f"{entry['noise']} / {entry['algorithm']}, {entry['meta_gradient']} meta-gradient, "
              f"{entry['iterations']} iterations, seed {entry['seed']}: "
              f"{entry['accuracy']:.2f} +- {entry['ci95']:.2f}% over {entry['num_episodes']} "
              "episodes")
    else:
      sys.exit("usage: python -m metadropout_tf.pretrained [--add NAME RUN_DIR RESULT_JSON "
               "ITERATIONS]")
  except (errors.ConfigError, ValueError) as error:
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  main(sys.argv)
