"""Grappler settings under which a traced function computes the same numbers in every process.

Grappler's constant-folding pass rewrote the meta-gradient graph differently from one trace to the
next (two `MetaLearner`s in one process, or two fresh runs of the same command): at 64 filters the
weights after one meta-iteration differed by 1e-5 to 1e-4, and training's chaos grew that to
different runs. With that one pass off, the same trace gives bit-identical weights; switching off
any other pass alone (arithmetic, remapping, loop, ...) did not help, so every other pass stays
on. The setting is process-wide: `apply` runs wherever the package builds or loads functions
(`MetaLearner`, the SavedModel's export and `export.load`).
"""
import tensorflow as tf

_deterministic = True


def set_deterministic(deterministic):
  """Chooses bit-for-bit reproducible graphs (the default) or Grappler's constant folding."""
  global _deterministic
  _deterministic = bool(deterministic)
  apply()


def apply():
  """Applies the chosen setting to this process (TensorFlow reads it when a function runs)."""
  tf.config.optimizer.set_experimental_options({"constant_folding": not _deterministic})


def deterministic():
  return _deterministic
