"""How the package's functions are compiled: reproducibly, and with XLA or without.

Determinism: Grappler's meta-optimizer rewrote the meta-gradient graph differently from one trace
to the next (two fresh runs of the same command): at 64 filters the weights after one
meta-iteration differed by up to 2e-5, and training's chaos grew that to different runs. At 5-way,
turning off its constant-folding pass alone was enough; at 20-way (metabatch 8) runs still
differed with every pass that TensorFlow lets one switch off turned off (constant folding,
arithmetic, remapping, dependency, loop, layout, shape, function, pin-to-host, implementation
selector, scoped allocator, debug stripper, model pruning), and agreed only with the whole
meta-optimizer off, so that is the deterministic setting. The setting is process-wide: `apply`
runs wherever the package builds or loads functions (`MetaLearner`, the SavedModel's export and
`export.load`).

XLA (`jit_compile`): the per-task meta-gradient and the meta-test step compiled as XLA clusters,
for GPUs. It draws other noise from the same seeds (XLA's Philox) and breaks max-pool ties
differently, so its numbers agree with the default's but are not equal.
"""
import tensorflow as tf

_options = {"deterministic": True, "jit_compile": False}


def set_deterministic(deterministic):
  """Chooses bit-for-bit reproducible graphs (the default) or Grappler's graph rewrites."""
  _options["deterministic"] = bool(deterministic)
  apply()


def set_jit_compile(jit_compile):
  """Whether `MetaLearner`s built from now on compile their per-task functions with XLA."""
  _options["jit_compile"] = bool(jit_compile)


def function(python_function=None, input_signature=None, jit_compile=False):
  """`tf.function` as the package builds every function: one trace per input signature, and no
  AutoGraph. The package's control flow is Python's over Python values (and explicit
  `tf.while_loop`s), so AutoGraph only rewrote source: 40% of the training step's trace time."""
  if python_function is None:
    return lambda f: function(f, input_signature, jit_compile)
  return tf.function(python_function, input_signature=input_signature, autograph=False,
                     jit_compile=jit_compile)


def apply():
  """Applies the chosen determinism to this process (TensorFlow reads it when a function runs)."""
  tf.config.optimizer.set_experimental_options(
      {"disable_meta_optimizer": _options["deterministic"]})


def deterministic():
  return _options["deterministic"]


def jit_compile():
  return _options["jit_compile"]
