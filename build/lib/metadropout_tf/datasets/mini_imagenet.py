"""miniImageNet in Ravi & Larochelle's (2017) split, from its CSVs and 84x84 JPEGs, as tfds.

Layout read (as users download it):
  DATA_DIR/images/<wnid><8 digits>.jpg      84x84 RGB
  DATA_DIR/{train,val,test}.csv             "filename,label" with a header row
train = 64, val = 16, test = 20 classes of 600 images; val is prepared when `val.csv` exists.
The JPEG bytes are stored as they are (no re-encoding), after each file is decoded once to
check it.
"""
import csv
import hashlib
import io
import os

from PIL import Image

from metadropout_tf.datasets import manual_builder
from metadropout_tf.datasets.manual_builder import Example
from metadropout_tf.errors import DataError

SPLITS = ("train", "val", "test")
REQUIRED_SPLITS = ("train", "test")
IMAGE_SIZE = 84


class MiniImagenet(manual_builder.ManualImageBuilder):
  """miniImageNet (Vinyals et al., 2016) in Ravi & Larochelle's split: 64 / 16 / 20 classes."""
  IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
  ENCODING = "jpeg"
  HOMEPAGE = "https://github.com/twitter-research/meta-learning-lstm"
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Put images/*.jpg (84x84, Ravi & Larochelle's names) and train.csv, test.csv "
      "(and val.csv if you have it) in the manual directory.")

  @classmethod
  def read_classes(cls, manual_dir):
    splits = {}
    for split in SPLITS:
      path = os.path.join(manual_dir, f"{split}.csv")
      if split in REQUIRED_SPLITS or os.path.exists(path):
        splits[split] = _read_csv(manual_dir, path)
    return splits

  @classmethod
  def fingerprint(cls, manual_dir):
    """The CSVs' text and the number and total size of the images: moving them keeps it."""
    digest = hashlib.sha1()
    for split in SPLITS:
      path = os.path.join(manual_dir, f"{split}.csv")
      if os.path.exists(path):
        with open(path, "rb") as f:
          digest.update(split.encode() + f.read())
    images = os.path.join(manual_dir, "images")
    if os.path.isdir(images):
      sizes = [entry.stat().st_size for entry in os.scandir(images)]
      digest.update(f"images/ {len(sizes)} files {sum(sizes)} bytes".encode())
    return digest.hexdigest()[:16]


def _read_csv(manual_dir, path):
  """{class: [Example]} of one split's CSV, in the CSV's class order and file-name order."""
  if not os.path.exists(path):
    raise DataError(f"missing {path}: miniImageNet needs {REQUIRED_SPLITS} CSVs "
                    "('filename,label' rows) beside images/")
  classes = {}
  with open(path, newline="") as f:
    rows = csv.reader(f)
    if next(rows, None) != ["filename", "label"]:
      raise DataError(f"{path} does not start with the header 'filename,label': expected "
                      "Ravi & Larochelle's CSV")
    for line_no, row in enumerate(rows, 2):
      if len(row) != 2:
        raise DataError(f"{path}:{line_no}: {row!r} is not 'filename,label'")
      file_name, label = row
      image_path = os.path.join(manual_dir, "images", file_name)
      if not os.path.exists(image_path):
        raise DataError(f"{path}:{line_no} names {image_path}, which does not exist: "
                        "restore the image or the CSV")
      examples = classes.setdefault(label, {})
      if file_name in examples:
        raise DataError(f"{path}:{line_no} lists {file_name} a second time: remove the repeat")
      examples[file_name] = Example(file_name, lambda p=image_path: _checked(p))
  return {label: [examples[name] for name in sorted(examples)]
          for label, examples in classes.items()}


def _checked(image_path):
  """The file's JPEG bytes, after decoding them once: a damaged file is named, not stored."""
  with open(image_path, "rb") as f:
    data = f.read()
  try:
    image = Image.open(io.BytesIO(data))
    image.load()
  except (OSError, SyntaxError) as error:
    raise DataError(f"{image_path} is not a readable JPEG ({error}): restore the file")
  if image.format != "JPEG" or image.mode != "RGB" or image.size != (IMAGE_SIZE, IMAGE_SIZE):
    raise DataError(f"{image_path} is a {image.size[0]}x{image.size[1]} {image.mode} "
                    f"{image.format}, expected an 84x84 RGB JPEG: restore the file")
  return data
