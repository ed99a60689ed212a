"""tensorflow-datasets builders over a benchmark's official files, and class-major arrays of them.

Both benchmarks are prepared by `tfds` from a *manual directory* holding the official files
(nothing is downloaded), into versioned TFRecords under tfds' data directory. A builder lists
its classes in `_read_classes`; this base class declares the features, checks that every class
of a split has the same number of images, records a fingerprint of the source files and writes
the examples. `load_class_major` then reads a split back as the uint8 array
[classes, per_class, H, W, C] the episode pipeline samples from, preparing it first if needed:
again when the source files changed since (say, a user added `val.csv`), and again, with a
warning, when the prepared files are damaged.

For users, the same data through tfds' own API:
  import metadropout_tf.datasets  # registers "omniglot_vinyals" and "mini_imagenet"
  tfds.load("mini_imagenet", split="train", data_dir=...,  download_and_prepare_kwargs=dict(
      download_config=tfds.download.DownloadConfig(manual_dir="../shared/datasets/miniimagenet")))
Each example is {"image": uint8 [H, W, C], "label": class index within its split,
"index": position within its class, "class_name", "file_name"}.
"""
import os
import shutil
import sys
from typing import Callable, Dict, List, NamedTuple

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from metadropout_tf import errors
from metadropout_tf import files

tfds.disable_progress_bar()


class Example(NamedTuple):
  file_name: str  # unique within its class, relative to the manual directory
  read: Callable[[], object]  # () -> encoded bytes or a uint8 [H, W, C] array


class ManualImageBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A `GeneratorBasedBuilder` of fixed-size image classes read from official files.

  Subclasses set IMAGE_SHAPE, ENCODING ("png" or "jpeg") and implement
  `read_classes(manual_dir)` -> {split: {class name: [Example]}} and
  `fingerprint(manual_dir)` -> str.
  """
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First version."}
  IMAGE_SHAPE = None
  ENCODING = "png"
  HOMEPAGE = ""
  CITATION = ""

  @classmethod
  def read_classes(cls, manual_dir) -> Dict[str, Dict[str, List[Example]]]:
    raise NotImplementedError

  @classmethod
  def fingerprint(cls, manual_dir) -> str:
    raise NotImplementedError

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=self.__doc__,
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=self.IMAGE_SHAPE, encoding_format=self.ENCODING),
            "label": tfds.features.Scalar(np.int64, doc="class index within the split"),
            "index": tfds.features.Scalar(np.int64, doc="position within the class"),
            "class_name": tfds.features.Text(),
            "file_name": tfds.features.Text(),
        }),
        supervised_keys=("image", "label"),
        homepage=self.HOMEPAGE,
        citation=self.CITATION,
        metadata=tfds.core.MetadataDict(),
    )

  def _log_download_bytes(self):
    """tfds would announce a download ("Downloading and preparing dataset Unknown size");
    these builders download nothing, they read the manual directory."""
    print(f"preparing {self.name} from its official files (offline, once) into "
          f"{self.data_dir}", file=sys.stderr, flush=True)

  def _log_download_done(self):
    print(f"prepared {self.name}", file=sys.stderr, flush=True)

  def _split_generators(self, dl_manager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    splits = self.read_classes(manual_dir)
    shapes = {}
    for split, classes in splits.items():
      shapes[split] = {"classes": len(classes), "per_class": _equal_class_size(split, classes)}
    self.info.metadata.update(source_fingerprint=self.fingerprint(manual_dir), splits=shapes)
    return {split: self._generate_examples(classes) for split, classes in splits.items()}

  def _generate_examples(self, classes):
    for label, (class_name, examples) in enumerate(classes.items()):
      for index, example in enumerate(examples):
        yield f"{class_name}/{example.file_name}", {
            "image": example.read(), "label": label, "index": index,
            "class_name": class_name, "file_name": example.file_name}


def _equal_class_size(split, classes):
  """The number of images per class, which must be the same for every class of a split."""
  if not classes:
    raise errors.DataError(f"split {split!r} lists no classes: check its split file")
  sizes = {name: len(examples) for name, examples in classes.items()}
  per_class = max(sizes.values())
  for name, size in sizes.items():
    if size < per_class:
      raise errors.DataError(f"class {name} of split {split!r} has {size} images, others have "
                      f"{per_class}: the files are incomplete, restore the missing images")
  return per_class


def prepared_builder(builder_class, manual_dir, tfds_data_dir=None):
  """The builder with its data prepared from `manual_dir` (offline), re-prepared if stale."""
  if not os.path.isdir(manual_dir):
    raise errors.DataError(f"data directory {files.resolved(manual_dir)} does not exist: pass --data_dir pointing "
                    f"at the official files ({builder_class.name})")
  fingerprint = builder_class.fingerprint(manual_dir)
  builder = _readable_builder(builder_class, tfds_data_dir)
  if builder and _prepared_from(builder, fingerprint):
    return builder
  with preparation_lock(builder_class, tfds_data_dir):
    builder = _readable_builder(builder_class, tfds_data_dir, remove_damaged=True)
    if _prepared_from(builder, fingerprint):  # another process may have prepared it
      return builder
    mode = tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS
    if builder.is_prepared():
      print(f"note: the files in {manual_dir} differ from those {builder.data_dir} was prepared "
            "from; preparing again", file=sys.stderr, flush=True)
      mode = tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS
    _prepare(builder, manual_dir, mode)
  return builder_class(data_dir=tfds_data_dir)


def _prepared_from(builder, fingerprint):
  return builder.is_prepared() and builder.info.metadata.get("source_fingerprint") == fingerprint


def _version_dir(builder_class, tfds_data_dir):
  """<tfds data dir>/<name>/<version>, where tfds keeps the prepared data."""
  root = tfds_data_dir or os.environ.get("TFDS_DATA_DIR") or tfds.core.constants.DATA_DIR
  return os.path.join(os.path.expanduser(root), builder_class.name, str(builder_class.VERSION))


def _readable_builder(builder_class, tfds_data_dir, remove_damaged=False):
  """The builder, or None if its prepared metadata (dataset_info.json, metadata.json) does not
  read; with `remove_damaged` (under the preparation lock) that data is removed, with a warning
  naming it, and prepared again by the caller."""
  try:
    builder = builder_class(data_dir=tfds_data_dir)
    builder.info.metadata.get("source_fingerprint")  # reads metadata.json
    return builder
  except Exception as error:  # pylint: disable=broad-except  (tfds raises JSON, protobuf or OS
    # errors by damage: each means "prepare again")
    if not remove_damaged:
      return None
    folder = _version_dir(builder_class, tfds_data_dir)
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
    print(f"warning: the prepared data in {folder} is damaged ({reason}); preparing it again",
          file=sys.stderr, flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    return builder_class(data_dir=tfds_data_dir)


def preparation_lock(builder_class, tfds_data_dir=None):
  """One process prepares a dataset at a time (say, a test suite's two workers, or train.py
  and evaluate.py started together on a fresh cache); the others wait for it."""
  folder = _version_dir(builder_class, tfds_data_dir)
  os.makedirs(os.path.dirname(folder), exist_ok=True)
  return files.lock_file(f"{folder}.lock", f"the preparation of {folder}")


def _prepare(builder, manual_dir, mode):
  config = tfds.download.DownloadConfig(manual_dir=manual_dir, download_mode=mode)
  builder.download_and_prepare(download_config=config)


def load_class_major(builder_class, manual_dir, split, tfds_data_dir=None):
  """(images uint8 [classes, per_class, H, W, C], class names) of `split` ("a+b" joins splits).

  Classes keep the order of the split files, images the order of their file names.
  """
  builder = prepared_builder(builder_class, manual_dir, tfds_data_dir)
  read_from = _preparation_stamp(builder)
  try:
    return _read_class_major(builder, split)
  except tf.errors.OpError as error:  # a bad record, a shard missing or emptied
    reason = str(error).strip().splitlines()[0].rpartition("}} ")[2][:200]
    print(f"warning: the prepared data in {builder.data_dir} is damaged ({reason}); preparing "
          "it again", file=sys.stderr, flush=True)
  with preparation_lock(builder_class, tfds_data_dir):
    if _preparation_stamp(builder) == read_from:  # else another process prepared it meanwhile
      _prepare(builder, manual_dir, tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS)
  return _read_class_major(builder_class(data_dir=tfds_data_dir), split)


def _preparation_stamp(builder):
  """Which preparation the data directory holds: tfds renames a new one into place."""
  stat = os.stat(builder.data_dir)
  return stat.st_ino, stat.st_mtime_ns


def _read_class_major(builder, split):
  shapes = builder.info.metadata["splits"]
  parts = split.split("+")
  for part in parts:
    if part not in shapes:
      raise errors.DataError(f"no split {part!r} in {builder.name}: the official files define "
                      f"{sorted(shapes)}; add the split's file to --data_dir (it is then "
                      "prepared again), or choose one of those")
  per_class = {shapes[part]["per_class"] for part in parts}
  if len(per_class) > 1:
    raise errors.DataError(f"splits {parts} have different numbers of images per class {per_class}: "
                    "they cannot be joined; use one of them")
  total = sum(shapes[part]["classes"] for part in parts)
  images = np.empty((total, per_class.pop(), *builder.IMAGE_SHAPE), np.uint8)
  names = [None] * total
  offset = 0
  for part in parts:
    dataset = builder.as_dataset(split=part, batch_size=1024, shuffle_files=False)
    seen = 0
    for batch in tfds.as_numpy(dataset):
      labels = batch["label"] + offset
      images[labels, batch["index"]] = batch["image"]
      for label, name in zip(labels, batch["class_name"]):
        names[label] = name.decode()
      seen += len(labels)
    if seen != shapes[part]["classes"] * images.shape[1]:
      raise tf.errors.DataLossError(None, None, f"split {part!r} has {seen} examples, expected "
                                    f"{shapes[part]['classes'] * images.shape[1]}")
    offset += shapes[part]["classes"]
  return images, names
