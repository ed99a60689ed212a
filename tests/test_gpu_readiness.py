"""Ready for a GPU without one: every op of the traced functions has a GPU kernel in this build."""
import pytest
from tensorflow.python.framework import kernels  # pylint: disable=no-name-in-module

from metadropout_tf import perturbations
from helpers import learner_for, tiny_model

# Ops whose kernel is registered for every device ("DEFAULT") rather than for the GPU by name:
# the runtime's own (function calls, loops, placeholders, no-ops) and shape arithmetic that
# TensorFlow keeps in host memory on a GPU too.
DEVICE_INDEPENDENT = {
    "BroadcastGradientArgs": "shape arithmetic, computed in host memory",
    "ConcatOffset": "shape arithmetic (the gradient of a split), computed in host memory",
    "BroadcastArgs": "shape arithmetic (mixup's broadcasts), computed in host memory",
    "InvertPermutation": "index arithmetic (the gradient of mixup's transpose), host memory",
    "If": "a branch (the input checks' asserts)",
    "IdentityN": "forwards its inputs (custom gradients)",
    "NoOp": "control dependencies only",
    "Placeholder": "a function's argument",
    "ReadVariableOp": "reads a variable where it lives",
    "PartitionedCall": "calls a function",
    "StatefulPartitionedCall": "calls a function",
    "While": "the loop over a meta-batch's tasks",
    "StatelessWhile": "the inner loop's steps (a loop whose body is stateless)",
    "VariableShape": "a variable's shape (the loop gradient's accumulators), host memory",
    "Assert": "an input check, evaluated on the host",
}


def op_types(concrete_function):
  """Every op type in a concrete function and in the functions it calls."""
  graph = concrete_function.graph.as_graph_def()
  called = {f.signature.name for f in graph.library.function}
  ops = {node.op for node in graph.node}
  for function in graph.library.function:
    ops |= {node.op for node in function.node_def}
  return ops - called


def without_gpu_kernel(ops):
  """{op: the devices it has kernels for} of the ops with neither a GPU nor a DEFAULT kernel,
  and the DEFAULT-only ops this file does not list with a reason."""
  missing = {}
  for op in sorted(ops):
    devices = {k.device_type for k in kernels.get_registered_kernels_for_op(op).kernel}
    if "GPU" not in devices and not ("DEFAULT" in devices and op in DEVICE_INDEPENDENT):
      missing[op] = sorted(devices)
  return missing


@pytest.mark.parametrize("name, meta_gradient", [(name, "exact") for name in sorted(
    perturbations.PERTURBATIONS)] + [("multiplicative", "authors_tf1"), ("none", "first_order")])
def test_every_op_of_the_training_and_meta_test_steps_has_a_gpu_kernel(name, meta_gradient):
  learner = learner_for(tiny_model(name), meta_gradient)
  ops = (op_types(learner.meta_gradients.get_concrete_function())
         | op_types(learner.apply_gradients.get_concrete_function())
         | op_types(learner.predict_task.get_concrete_function()))
  assert {"Conv2D", "Conv2DBackpropInput", "While"} <= ops
  assert not without_gpu_kernel(ops)


def test_every_op_of_the_saved_model_has_a_gpu_kernel(exported):
  _, _, loaded, _ = exported
  ops = set()
  for function in (loaded.adapt, loaded.predict_adapted, loaded.adapt_and_predict_seeded,
                   loaded.adapt_and_predict):
    for concrete in function.concrete_functions:
      ops |= op_types(concrete)
  for signature in loaded.signatures.values():
    ops |= op_types(signature)
  assert {"Conv2D", "Softmax"} <= ops
  assert not without_gpu_kernel(ops)


def test_an_op_without_a_gpu_kernel_is_found():
  """The check itself: an op registered for the CPU only is reported."""
  cpu_only = next(op for op in ("DecodeJpeg", "DecodePng", "WriteFile")
                  if "GPU" not in {k.device_type
                                   for k in kernels.get_registered_kernels_for_op(op).kernel})
  assert cpu_only in without_gpu_kernel({cpu_only, "Conv2D"})
  assert "Conv2D" not in without_gpu_kernel({cpu_only, "Conv2D"})
