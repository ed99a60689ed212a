"""Omniglot from the official archives and the Vinyals et al. (2016) split files.

Layout read (zips or their extracted folders, as users download them):
  DATA_DIR/images_background.zip  (or DATA_DIR/images_background/)
  DATA_DIR/images_evaluation.zip  (or DATA_DIR/images_evaluation/)
  DATA_DIR/splits/vinyals/{train,val,trainval,test}.txt, lines "Alphabet/characterNN/rotDDD"
Each 105x105 1-bit drawing is converted to 8-bit grey (PIL does not resample
mode "1"), resized to 28x28 with Lanczos, and inverted so that ink is 1.0 and
paper 0.0 (MAML's convention). A rotation by DDD degrees (counter-clockwise)
makes a class of its own: trainval = 4800 classes, test = 1692.
The resized characters are cached as one .npz, so later runs start in seconds.
"""
import hashlib
import io
import os
import re
import sys
import zipfile

import numpy as np
from PIL import Image

from metadropout_tf.config import ConfigError

ARCHIVES = ("images_background", "images_evaluation")
SPLITS = ("train", "val", "trainval", "test")
IMAGE_SIZE = 28
EXAMPLES_PER_CLASS = 20
CACHE_VERSION = 1
_MEMBER = re.compile(r"^(?:.*/)?(images_background|images_evaluation)/([^/]+)/(character\d+)/([^/]+\.png)$")
_LINE = re.compile(r"^([^/]+/character\d+)/rot(\d{3})$")


def load(data_dir, split, cache_dir):
  """Returns (images [classes, 20, 28, 28, 1] float32 in [0, 1], class names) of a split."""
  names = read_split(data_dir, split)
  characters = load_characters(data_dir, cache_dir)
  images = np.empty((len(names), EXAMPLES_PER_CLASS, IMAGE_SIZE, IMAGE_SIZE, 1), np.float32)
  for i, (line_no, name) in enumerate(names):
    character, degrees = _LINE.match(name).groups()
    if character not in characters:
      raise ConfigError(f"{split_path(data_dir, split)}:{line_no} names {character}, which is "
                        "not in the Omniglot archives: check the split file and --data_dir")
    images[i, ..., 0] = np.rot90(characters[character], int(degrees) // 90, axes=(1, 2))
  return images, [name for _, name in names]


def fingerprint(data_dir):
  """Identity of the files a run reads: the split lists' text and each archive's size.

  The same files elsewhere give the same value, so a moved data directory still resumes.
  """
  _require_data_dir(data_dir)
  digest = hashlib.sha1()
  for split in SPLITS:
    path = split_path(data_dir, split)
    if os.path.exists(path):
      with open(path, "rb") as f:
        digest.update(split.encode() + f.read())
  for archive in ARCHIVES:
    folder = os.path.join(data_dir, archive)
    if os.path.isdir(folder):
      count = sum(len(files) for _, _, files in os.walk(folder))
      digest.update(f"{archive}/ {count} files".encode())
    elif os.path.exists(folder + ".zip"):
      digest.update(f"{archive}.zip {os.path.getsize(folder + '.zip')} bytes".encode())
  return digest.hexdigest()[:16]


def split_path(data_dir, split):
  return os.path.join(data_dir, "splits", "vinyals", f"{split}.txt")


def read_split(data_dir, split):
  """[(line number, "Alphabet/characterNN/rotDDD")] of a split file, validated."""
  if split not in SPLITS:
    raise ConfigError(f"unknown Omniglot split {split!r}: choose one of {SPLITS}")
  path = split_path(data_dir, split)
  _require_data_dir(data_dir)
  if not os.path.exists(path):
    raise ConfigError(f"missing split file {path}: put the Vinyals split files in "
                      f"{os.path.join(data_dir, 'splits', 'vinyals')}")
  names = []
  with open(path) as f:
    for line_no, line in enumerate(f, 1):
      line = line.strip()
      if not line:
        continue
      match = _LINE.match(line)
      if not match or int(match.group(2)) % 90:
        raise ConfigError(f"{path}:{line_no}: {line!r} is not 'Alphabet/characterNN/rotDDD' "
                          "with DDD in 000, 090, 180, 270")
      names.append((line_no, line))
  return names


def load_characters(data_dir, cache_dir):
  """{"Alphabet/characterNN": [20, 28, 28] float32}, cached under cache_dir."""
  _require_data_dir(data_dir)
  key = hashlib.sha1(os.path.realpath(data_dir).encode()).hexdigest()[:10]
  cache = os.path.join(cache_dir, f"omniglot_{IMAGE_SIZE}px_v{CACHE_VERSION}_{key}.npz")
  if os.path.exists(cache):
    try:
      with np.load(cache) as data:
        return {key.replace("__", "/"): data[key] for key in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
      print(f"warning: the cache {cache} is damaged ({type(error).__name__}); rebuilding it",
            file=sys.stderr, flush=True)
  characters = {}
  for archive in ARCHIVES:
    for character, files in _read_archive(data_dir, archive).items():
      if len(files) != EXAMPLES_PER_CLASS:
        raise ConfigError(f"{archive}: {character} has {len(files)} drawings, expected "
                          f"{EXAMPLES_PER_CLASS}: the archive looks incomplete")
      characters[character] = np.stack([_preprocess(read()) for _, read in sorted(files)])
  os.makedirs(cache_dir, exist_ok=True)
  tmp = f"{cache}.tmp-{os.getpid()}.npz"  # written whole, then renamed into place
  np.savez(tmp, **{name.replace("/", "__"): x for name, x in characters.items()})
  os.replace(tmp, cache)
  return characters


def _preprocess(png_bytes):
  image = Image.open(io.BytesIO(png_bytes)).convert("L")  # mode "1" would not be resampled
  image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.LANCZOS)
  return 1.0 - np.asarray(image, np.float32) / 255.0


def _read_archive(data_dir, archive):
  """{character: [(file name, () -> png bytes)]} of one archive, zip or folder."""
  folder = os.path.join(data_dir, archive)
  zip_path = folder + ".zip"
  characters = {}
  if os.path.isdir(folder):
    for root, _, files in os.walk(folder):
      for file in files:
        path = os.path.join(root, file)
        match = _MEMBER.match(path.replace(os.sep, "/"))
        if match:
          characters.setdefault(f"{match[2]}/{match[3]}", []).append(
              (match[4], lambda path=path: open(path, "rb").read()))
  elif os.path.exists(zip_path):
    try:
      archive_file = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
      raise ConfigError(f"{zip_path} is not a zip archive: download the official file again")
    for member in archive_file.namelist():
      match = _MEMBER.match(member)
      if match and match[1] == archive:
        characters.setdefault(f"{match[2]}/{match[3]}", []).append(
            (match[4], lambda member=member: archive_file.read(member)))
  else:
    raise ConfigError(f"neither {zip_path} nor {folder}/ exists: --data_dir must hold the "
                      "official Omniglot archives")
  if not characters:
    raise ConfigError(f"{archive} has no {archive}/<Alphabet>/characterNN/*.png entries: "
                      "expected the official Omniglot archive layout")
  return characters


def _require_data_dir(data_dir):
  if not os.path.isdir(data_dir):
    raise ConfigError(f"data directory {data_dir} does not exist: pass --data_dir pointing at "
                      "the Omniglot archives and splits/vinyals/")
