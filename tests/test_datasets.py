"""The tensorflow-datasets builders: real class counts and pixels, offline tfds.load, the
miniImageNet val split and bad input on small generated fixtures."""
import glob
import io
import os
import random
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from helpers import MINI_IMAGENET_DIR, OMNIGLOT_DIR, TFDS_DIR, last_line, no_network, run
from metadropout_tf import datasets
from metadropout_tf.datasets import manual_builder
from metadropout_tf.datasets import mini_imagenet
from metadropout_tf.datasets import omniglot
from metadropout_tf.errors import DataError


def test_omniglot_vinyals_splits(omniglot_trainval, omniglot_test):
  for (images, names), classes in ((omniglot_trainval, 4800), (omniglot_test, 1692)):
    assert images.shape == (classes, 20, 28, 28, 1) and images.dtype == np.uint8
    assert len(set(names)) == classes
    assert 0.02 < images.mean() / 255 < 0.2  # ink is 255 on a blank page: most pixels are paper
  train, _ = datasets.load("omniglot", OMNIGLOT_DIR, "train", TFDS_DIR)
  val, _ = datasets.load("omniglot", OMNIGLOT_DIR, "val", TFDS_DIR)
  assert train.shape[0] == 4112 and val.shape[0] == 688
  np.testing.assert_array_equal(np.concatenate([train, val]), omniglot_trainval[0])


def test_mini_imagenet_splits(mini_imagenet_test):
  images, names = mini_imagenet_test
  assert images.shape == (20, 600, 84, 84, 3) and images.dtype == np.uint8
  train, train_names = datasets.load("miniimagenet", MINI_IMAGENET_DIR, "train", TFDS_DIR)
  assert train.shape == (64, 600, 84, 84, 3)
  assert not set(names) & set(train_names) and all(n.startswith("n") for n in names)
  del train


def official_drawing(name, index):
  """Drawing `index` of class "Alphabet/characterNN/rotDDD", read from the zip with PIL, as the
  loader before tfds computed it: float 1 - grey / 255 after a Lanczos resize, rotated."""
  character, rotation = name.rsplit("/", 1)
  for archive in omniglot.ARCHIVES:
    with zipfile.ZipFile(os.path.join(OMNIGLOT_DIR, f"{archive}.zip")) as z:
      members = sorted(m for m in z.namelist()
                       if m.startswith(f"{archive}/{character}/") and m.endswith(".png"))
      if members:
        image = Image.open(io.BytesIO(z.read(members[index]))).convert("L")
        grey = np.asarray(image.resize((28, 28), Image.LANCZOS), np.float32)
        return np.rot90(1.0 - grey / 255.0, int(rotation[3:]) // 90)
  raise AssertionError(f"{character} not found")


def test_omniglot_pixels_are_those_of_the_official_drawings(omniglot_test):
  images, names = omniglot_test
  for c in random.Random(0).sample(range(len(names)), 12):
    for index in (0, 7, 19):
      expected = official_drawing(names[c], index)
      np.testing.assert_allclose(images[c, index, ..., 0] / 255, expected, atol=1e-6,
                                 err_msg=f"{names[c]} drawing {index}")


def test_mini_imagenet_pixels_are_the_jpeg_files(mini_imagenet_test):
  images, names = mini_imagenet_test
  with open(os.path.join(MINI_IMAGENET_DIR, "test.csv")) as f:
    rows = [line.strip().split(",") for line in f][1:]
  assert names == list(dict.fromkeys(label for _, label in rows))  # the CSV's class order
  rng = random.Random(0)
  for c in rng.sample(range(20), 5):
    files = sorted(file for file, label in rows if label == names[c])
    for index in rng.sample(range(600), 3):
      data = tf.io.read_file(os.path.join(MINI_IMAGENET_DIR, "images", files[index]))
      np.testing.assert_array_equal(images[c, index], tf.io.decode_jpeg(data).numpy())


def test_tfds_load_reads_both_benchmarks_offline():
  with no_network() as attempts:
    mini = tfds.load("mini_imagenet", split="test", data_dir=TFDS_DIR)
    example = next(iter(mini))
    omni, info = tfds.load("omniglot_vinyals", split="train+val", data_dir=TFDS_DIR,
                           with_info=True)
  assert not attempts
  assert example["image"].shape == (84, 84, 3) and example["image"].dtype == tf.uint8
  assert {"label", "index", "class_name", "file_name"} <= set(example)
  assert info.splits["train+val"].num_examples == 96000 == omni.cardinality()
  assert info.splits["test"].num_examples == 1692 * 20


def test_the_network_guard_catches_a_connection():
  """The offline checks above would see a download: the guard does catch one."""
  with no_network() as attempts, pytest.raises(OSError, match="network access attempted"):
    socket_module = __import__("socket")
    socket_module.create_connection(("example.com", 80), timeout=1)
  assert attempts == ["example.com"]


def write_jpeg(path, seed):
  pixels = np.random.default_rng(seed).integers(0, 256, (84, 84, 3), dtype=np.uint8)
  Image.fromarray(pixels).save(path, "JPEG")


def make_mini_imagenet(root, splits=(("train", 3), ("val", 2), ("test", 2)), per_class=4):
  """A miniImageNet-layout fixture: images/ of 84x84 JPEGs and one CSV per split."""
  os.makedirs(os.path.join(root, "images"), exist_ok=True)
  for s, (split, num_classes) in enumerate(splits):
    lines = ["filename,label"]
    for c in range(num_classes):
      wnid = f"n{s}{c:07d}"
      for i in range(per_class):
        name = f"{wnid}{i + 1:08d}.jpg"
        write_jpeg(os.path.join(root, "images", name), seed=hash((s, c, i)) % 2**32)
        lines.append(f"{name},{wnid}")
    with open(os.path.join(root, f"{split}.csv"), "w") as f:
      f.write("\n".join(lines) + "\n")
  return str(root)


def test_the_val_split_is_prepared_when_val_csv_exists(tmp_path):
  manual = make_mini_imagenet(tmp_path / "mini")
  with no_network() as attempts:
    val, names = datasets.load("miniimagenet", manual, "val", str(tmp_path / "tfds"))
    trainval, _ = datasets.load("miniimagenet", manual, "trainval", str(tmp_path / "tfds"))
  assert not attempts
  assert val.shape == (2, 4, 84, 84, 3) and names == ["n10000000", "n10000001"]
  assert trainval.shape == (5, 4, 84, 84, 3)
  np.testing.assert_array_equal(trainval[3:], val)
  first = tf.io.decode_jpeg(tf.io.read_file(os.path.join(manual, "images", "n1000000100000001.jpg")))
  np.testing.assert_array_equal(val[1, 0], first.numpy())


def test_preparing_says_what_it_does_and_announces_no_download(tmp_path, capfd):
  manual = make_mini_imagenet(tmp_path / "mini", splits=(("train", 2), ("test", 2)))
  datasets.load("miniimagenet", manual, "test", str(tmp_path / "tfds"))
  printed = capfd.readouterr()
  assert "preparing mini_imagenet from its official files (offline, once)" in printed.err
  assert "ownload" not in printed.out + printed.err


def test_val_csv_added_later_is_prepared_then(tmp_path, capsys):
  manual = make_mini_imagenet(tmp_path / "mini")
  os.rename(os.path.join(manual, "val.csv"), tmp_path / "val.csv")
  tfds_dir = str(tmp_path / "tfds")
  datasets.load("miniimagenet", manual, "test", tfds_dir)
  with pytest.raises(DataError, match=r"no split 'val' in mini_imagenet: the official files "
                                      r"define \['test', 'train'\]"):
    datasets.load("miniimagenet", manual, "val", tfds_dir)
  os.rename(tmp_path / "val.csv", os.path.join(manual, "val.csv"))
  val, _ = datasets.load("miniimagenet", manual, "val", tfds_dir)
  assert val.shape == (2, 4, 84, 84, 3)
  assert "differ from those" in capsys.readouterr().err


def corrupt_jpeg(manual):
  path = os.path.join(manual, "images", "n0000000100000002.jpg")
  with open(path, "r+b") as f:
    f.truncate(100)
  return path


def missing_image(manual):
  path = os.path.join(manual, "images", "n0000000200000003.jpg")
  os.remove(path)
  return "train.csv:12 names .*n0000000200000003.jpg, which does not exist"


def too_few_images(manual):
  with open(os.path.join(manual, "train.csv")) as f:
    lines = f.readlines()
  with open(os.path.join(manual, "train.csv"), "w") as f:
    f.writelines(lines[:-1])
  return "class n00000002 of split 'train' has 3 images, others have 4"


@pytest.mark.parametrize("damage, message", [
    (lambda manual: os.remove(os.path.join(manual, "test.csv")), r"missing .*test.csv"),
    (missing_image, None),
    (corrupt_jpeg, r"n0000000100000002.jpg is not a readable JPEG"),
    (too_few_images, None),
    (lambda manual: Image.new("RGB", (80, 84)).save(
        os.path.join(manual, "images", "n1000000000000001.jpg")),
     r"n1000000000000001.jpg is a 80x84 RGB JPEG, expected an 84x84 RGB JPEG"),
])
def test_bad_mini_imagenet_files_are_named(tmp_path, damage, message):
  manual = make_mini_imagenet(tmp_path / "mini")
  message = damage(manual) or message
  with pytest.raises(DataError, match=message):
    datasets.load("miniimagenet", manual, "train", str(tmp_path / "tfds"))


@pytest.mark.slow
def test_prepare_names_a_bad_file_in_one_line(tmp_path):
  manual = make_mini_imagenet(tmp_path / "mini")
  path = corrupt_jpeg(manual)
  result = run("data/prepare.py", "--dataset=miniimagenet", f"--data_dir={manual}",
               f"--tfds_data_dir={tmp_path / 'tfds'}")
  assert result.returncode == 1
  assert last_line(result).startswith(f"error: {path} is not a readable JPEG"), result.stderr[-2000:]
  write_jpeg(path, 1)  # fixed: the same command prepares it
  result = run("data/prepare.py", "--dataset=miniimagenet", f"--data_dir={manual}",
               f"--tfds_data_dir={tmp_path / 'tfds'}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "mini_imagenet val: 2 classes x 4 images (84, 84, 3)" in result.stdout


def truncate_train_record(tfds_dir):
  (record,) = [p for p in tfds_dir.rglob("*train.tfrecord*")]
  record.write_bytes(record.read_bytes()[:len(record.read_bytes()) // 2])


def test_damaged_prepared_data_is_named_and_prepared_again(tmp_path, capsys):
  manual = make_mini_imagenet(tmp_path / "mini")
  tfds_dir = str(tmp_path / "tfds")
  first, _ = datasets.load("miniimagenet", manual, "train", tfds_dir)
  truncate_train_record(tmp_path / "tfds")
  again, _ = datasets.load("miniimagenet", manual, "train", tfds_dir)
  assert "is damaged" in capsys.readouterr().err
  np.testing.assert_array_equal(again, first)


@pytest.mark.parametrize("damage", ["shard removed", "shard emptied", "dataset_info garbled",
                                    "metadata garbled"])
def test_prepared_data_damaged_otherwise_is_named_and_prepared_again(tmp_path, capsys, damage):
  manual = make_mini_imagenet(tmp_path / "mini")
  tfds_dir = str(tmp_path / "tfds")
  first, _ = datasets.load("miniimagenet", manual, "train", tfds_dir)
  version = glob.glob(str(tmp_path / "tfds" / "mini_imagenet" / "*"))[0]
  shard = glob.glob(os.path.join(version, "*-train.tfrecord*"))[0]
  if damage == "shard removed":
    os.remove(shard)
  elif damage == "shard emptied":
    open(shard, "w").close()
  else:
    open(os.path.join(version, damage.split()[0] + ".json"), "w").write("{garbled")
  capsys.readouterr()
  again, _ = datasets.load("miniimagenet", manual, "train", tfds_dir)
  assert f"warning: the prepared data in {version} is damaged" in capsys.readouterr().err
  np.testing.assert_array_equal(again, first)


def test_damaged_data_another_process_prepared_again_is_read_not_prepared_twice(tmp_path,
                                                                              monkeypatch):
  """Two readers find the same damage (say, the suite's two workers): the one that takes the
  lock second reads what the first prepared."""
  manual = make_mini_imagenet(tmp_path / "mini")
  tfds_dir = str(tmp_path / "tfds")
  first, _ = datasets.load("miniimagenet", manual, "train", tfds_dir)
  truncate_train_record(tmp_path / "tfds")
  prepare, read = manual_builder._prepare, manual_builder._read_class_major
  preparations = []

  def read_while_another_process_prepares(builder, split):
    try:
      return read(builder, split)
    finally:
      if not preparations:
        preparations.append("the other process")
        prepare(builder, manual, tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS)

  monkeypatch.setattr(manual_builder, "_read_class_major", read_while_another_process_prepares)
  monkeypatch.setattr(manual_builder, "_prepare",
                      lambda *args: preparations.append("this process") or prepare(*args))
  again, _ = datasets.load("miniimagenet", manual, "train", tfds_dir)
  assert preparations == ["the other process"]
  np.testing.assert_array_equal(again, first)


def write_zip(path, members):
  with zipfile.ZipFile(path, "w") as archive:
    for name, data in members.items():
      archive.writestr(name, data)


def test_bad_omniglot_files_get_clear_errors(tmp_path):
  with pytest.raises(DataError, match="does not exist"):
    datasets.load("omniglot", str(tmp_path / "missing"), "test", str(tmp_path / "tfds"))
  (tmp_path / "splits" / "vinyals").mkdir(parents=True)
  with pytest.raises(DataError, match="missing split file .*train.txt"):
    datasets.load("omniglot", str(tmp_path), "test", str(tmp_path / "tfds"))
  (tmp_path / "splits" / "vinyals" / "train.txt").write_text("Atlantean/character01/rot000\n")
  (tmp_path / "splits" / "vinyals" / "test.txt").write_text("Atlantean/character01/rot000\n")
  write_zip(tmp_path / "images_background.zip", {"readme.txt": "no images"})
  write_zip(tmp_path / "images_evaluation.zip", {"readme.txt": "no images"})
  with pytest.raises(DataError, match="official Omniglot archive layout"):
    datasets.load("omniglot", str(tmp_path), "test", str(tmp_path / "tfds"))
  (tmp_path / "splits" / "vinyals" / "test.txt").write_text("Atlantean/character01/rot045\n")
  with pytest.raises(DataError, match="test.txt:1"):
    datasets.load("omniglot", str(tmp_path), "test", str(tmp_path / "tfds"))
  with pytest.raises(DataError, match="unknown split 'testing'"):
    datasets.load("omniglot", OMNIGLOT_DIR, "testing", TFDS_DIR)


def test_a_split_naming_an_absent_class_is_refused(tmp_path):
  for archive in omniglot.ARCHIVES:
    shutil.copy(f"{OMNIGLOT_DIR}/{archive}.zip", tmp_path)
  (tmp_path / "splits" / "vinyals").mkdir(parents=True)
  for split in ("train", "test"):
    (tmp_path / "splits" / "vinyals" / f"{split}.txt").write_text(
        "Angelic/character01/rot000\nKlingon/character99/rot090\n")
  with pytest.raises(DataError, match=r"train.txt:2 names Klingon/character99"):
    datasets.load("omniglot", str(tmp_path), "test", str(tmp_path / "tfds"))


def test_fingerprints_identify_the_files(tmp_path):
  manual = make_mini_imagenet(tmp_path / "mini")
  moved = shutil.copytree(manual, tmp_path / "moved")
  assert datasets.fingerprint("miniimagenet", manual) == datasets.fingerprint("miniimagenet", moved)
  os.remove(os.path.join(manual, "val.csv"))
  assert datasets.fingerprint("miniimagenet", manual) != datasets.fingerprint("miniimagenet", moved)
  assert mini_imagenet.MiniImagenet.fingerprint(MINI_IMAGENET_DIR) == datasets.fingerprint(
      "miniimagenet", MINI_IMAGENET_DIR)


@pytest.mark.slow
def test_a_second_process_waits_while_one_prepares(tmp_path):
  manual = make_mini_imagenet(tmp_path / "mini", splits=(("train", 2), ("test", 2)))
  tfds_dir = str(tmp_path / "tfds")
  builder_class = datasets.DATASETS["miniimagenet"].builder
  load = ("from metadropout_tf import datasets; "
          f"print(datasets.load('miniimagenet', {manual!r}, 'test', {tfds_dir!r})[0].shape)")
  with manual_builder.preparation_lock(builder_class, tfds_dir):  # as if this one prepared
    waiting = subprocess.Popen([sys.executable, "-c", load], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in waiting.stderr:
      if line.startswith("note: waiting for process"):
        break
    assert waiting.poll() is None, "the second process did not wait"
  out, err = waiting.communicate(timeout=300)
  assert waiting.returncode == 0, err[-2000:]
  assert out.strip() == "(2, 4, 84, 84, 3)"
  assert "preparing mini_imagenet from its official files" in err
