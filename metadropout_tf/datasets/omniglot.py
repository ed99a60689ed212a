"""Omniglot from the official archives and the Vinyals et al. (2016) split files, as tfds.

Layout read (zips or their extracted folders, as users download them):
  DATA_DIR/images_background.zip  (or DATA_DIR/images_background/)
  DATA_DIR/images_evaluation.zip  (or DATA_DIR/images_evaluation/)
  DATA_DIR/splits/vinyals/{train,val,test}.txt, lines "Alphabet/characterNN/rotDDD"
Each 105x105 1-bit drawing is converted to 8-bit grey (PIL does not resample mode "1"),
resized to 28x28 with Lanczos and inverted, so that ink is 255 and paper 0 (MAML's convention:
ink is 1.0 once scaled to [0, 1]). A rotation by DDD degrees (counter-clockwise) makes a class
of its own: train = 4112, val = 688, test = 1692 classes of 20 (trainval = train+val = 4800).
The catalog's `omniglot` builder cannot serve this split, hence this one.
"""
import functools
import hashlib
import io
import os
import re
import zipfile

import numpy as np
from PIL import Image

from metadropout_tf import files
from metadropout_tf.datasets import manual_builder
from metadropout_tf.datasets.manual_builder import Example
from metadropout_tf.errors import DataError

ARCHIVES = ("images_background", "images_evaluation")
SPLITS = ("train", "val", "test")
IMAGE_SIZE = 28
EXAMPLES_PER_CLASS = 20
_MEMBER = re.compile(r"^(?:.*/)?(images_background|images_evaluation)/([^/]+)/(character\d+)/([^/]+\.png)$")
_LINE = re.compile(r"^([^/]+/character\d+)/rot(\d{3})$")


class OmniglotVinyals(manual_builder.ManualImageBuilder):
  """Omniglot (Lake et al., 2015) in Vinyals et al.'s few-shot split, rotations as classes."""
  IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
  ENCODING = "png"
  HOMEPAGE = "https://github.com/brendenlake/omniglot"
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Put images_background.zip and images_evaluation.zip (or their folders) and "
      "splits/vinyals/{train,val,test}.txt in the manual directory.")

  @classmethod
  def read_classes(cls, manual_dir):
    lines = {split: read_split(manual_dir, split) for split in SPLITS
             if split != "val" or os.path.exists(split_path(manual_dir, split))}
    drawings = _Drawings(manual_dir)
    splits = {}
    for split, names in lines.items():
      classes = splits[split] = {}
      for line_no, name in names:
        character, degrees = _LINE.match(name).groups()
        files = drawings.files(character, f"{split_path(manual_dir, split)}:{line_no}")
        classes[name] = [Example(file, functools.partial(drawings.rotated, character, i,
                                                         int(degrees) // 90))
                         for i, file in enumerate(files)]
    return splits

  @classmethod
  def fingerprint(cls, manual_dir):
    return fingerprint(manual_dir)


class _Drawings:
  """The characters of both archives, decoded one character at a time (rotations reuse it)."""

  def __init__(self, manual_dir):
    self._characters = {}
    for archive in ARCHIVES:
      for character, files in _read_archive(manual_dir, archive).items():
        if len(files) != EXAMPLES_PER_CLASS:
          raise DataError(f"{archive}: {character} has {len(files)} drawings, expected "
                          f"{EXAMPLES_PER_CLASS}: the archive looks incomplete")
        self._characters[character] = sorted(files)

  def files(self, character, where):
    if character not in self._characters:
      raise DataError(f"{where} names {character}, which is not in the Omniglot archives: "
                      "check the split file and --data_dir")
    return [f"{character}/{name}" for name, _ in self._characters[character]]

  def rotated(self, character, index, quarter_turns):
    return np.ascontiguousarray(np.rot90(self._decoded(character)[index], quarter_turns))[..., None]

  @functools.lru_cache(maxsize=4)
  def _decoded(self, character):
    return [_preprocess(read(), f"{character}/{name}") for name, read in self._characters[character]]


def _preprocess(png_bytes, name):
  """[28, 28] uint8 with ink 255 from one official drawing."""
  try:
    image = Image.open(io.BytesIO(png_bytes)).convert("L")  # mode "1" would not be resampled
  except (OSError, SyntaxError) as error:  # PIL's errors for truncated or foreign files
    raise DataError(f"{name} is not a readable PNG ({error}): restore the official archive")
  image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.LANCZOS)
  return 255 - np.asarray(image, np.uint8)


def fingerprint(data_dir):
  """Identity of the files a run reads: the split lists' text and each archive's size.

  The same files elsewhere give the same value, so a moved data directory still resumes.
  """
  _require_data_dir(data_dir)
  digest = hashlib.sha1()
  for split in ("train", "val", "trainval", "test"):  # trainval too: older runs' fingerprints
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
  path = split_path(data_dir, split)
  _require_data_dir(data_dir)
  if not os.path.exists(path):
    raise DataError(f"missing split file {path}: put the Vinyals split files in "
                      f"{os.path.join(data_dir, 'splits', 'vinyals')}")
  names = []
  with open(path) as f:
    for line_no, line in enumerate(f, 1):
      line = line.strip()
      if not line:
        continue
      match = _LINE.match(line)
      if not match or int(match.group(2)) % 90:
        raise DataError(f"{path}:{line_no}: {line!r} is not 'Alphabet/characterNN/rotDDD' "
                          "with DDD in 000, 090, 180, 270")
      names.append((line_no, line))
  return names


def _read_archive(data_dir, archive):
  """{character: [(file name, () -> png bytes)]} of one archive, zip or folder."""
  folder = os.path.join(data_dir, archive)
  zip_path = folder + ".zip"
  characters = {}
  if os.path.isdir(folder):
    for root, _, names in os.walk(folder):
      for file in names:
        path = os.path.join(root, file)
        match = _MEMBER.match(path.replace(os.sep, "/"))
        if match:
          characters.setdefault(f"{match[2]}/{match[3]}", []).append(
              (match[4], lambda path=path: open(path, "rb").read()))
  elif os.path.exists(zip_path):
    try:
      archive_file = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
      raise DataError(f"{zip_path} is not a zip archive: download the official file again")
    for member in archive_file.namelist():
      match = _MEMBER.match(member)
      if match and match[1] == archive:
        characters.setdefault(f"{match[2]}/{match[3]}", []).append(
            (match[4], lambda member=member: archive_file.read(member)))
  else:
    raise DataError(f"neither {zip_path} nor {folder}/ exists: --data_dir must hold the "
                      "official Omniglot archives")
  if not characters:
    raise DataError(f"{archive} has no {archive}/<Alphabet>/characterNN/*.png entries: "
                      "expected the official Omniglot archive layout")
  return characters


def _require_data_dir(data_dir):
  if not os.path.isdir(data_dir):
    raise DataError(f"data directory {files.resolved(data_dir)} does not exist: pass --data_dir pointing at "
                      "the Omniglot archives and splits/vinyals/")
