"""How the package's functions are compiled: reproducibly, and with XLA or without.

Determinism: Grappler's constant-folding pass rewrote the meta-gradient graph differently from
one trace to the next (two fresh runs of the same command): at 64 filters the weights after one
meta-iteration differed by up to 2e-5, and training's chaos grew that to different runs. With that
one pass off, fresh 5-way runs end at bit-identical checkpoints; switching off any other pass alone
(arithmetic, remapping, loop, ...) did not help, so every other pass stays on. 20-way runs
(metabatch 8) still differ with it off, and agree only with the whole meta-optimizer off: which
other pass causes that is not isolated yet (the README's "Same seed, same numbers"). The setting is
process-wide: `apply` runs wherever the package builds or loads functions (`MetaLearner`, the
SavedModel's export and `export.load`).

XLA (`jit_compile`): the per-task meta-gradient and the meta-test step compiled as XLA clusters,
for GPUs. It draws other noise from the same seeds (XLA's Philox) and breaks max-pool ties
differently, so its numbers agree with the default's but are not equal.
"""
import tensorflow as tf

_options = {"deterministic": True, "jit_compile": False}


def set_deterministic(deterministic):
  """Chooses bit-for-bit reproducible graphs (the default) or Grappler's constant folding."""
  _options["deterministic"] = bool(deterministic)
  apply()


def set_jit_compile(jit_compile):
  """Whether `MetaLearner`s built from now on compile their per-task functions with XLA."""
  _options["jit_compile"] = bool(jit_compile)


def apply():
  """Applies the chosen determinism to this process (TensorFlow reads it when a function runs)."""
  tf.config.optimizer.set_experimental_options(
      {"constant_folding": not _options["deterministic"]})


def deterministic():
  return _options["deterministic"]


def jit_compile():
  return _options["jit_compile"]
