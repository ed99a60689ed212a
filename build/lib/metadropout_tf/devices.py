"""Which devices a run uses: a `tf.distribute` strategy by name.

  default:      one device (the first GPU, else the CPU).
  mirrored:     every local GPU (or, without GPUs, every logical CPU) holds a copy
                of the weights and meta-trains its share of a meta-batch's tasks.
  multi_worker: the same across the hosts named by the TF_CONFIG environment
                variable (`tf.distribute.MultiWorkerMirroredStrategy`).
"""
import tensorflow as tf


def split_cpu(num_devices):
  """Makes the CPU appear as `num_devices` logical devices (to try `mirrored` without GPUs).

  Must run before TensorFlow first uses a device.
  """
  cpu = tf.config.list_physical_devices("CPU")[0]
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)])


def make_strategy(name):
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    # NCCL needs GPUs; reducing on one device works everywhere and moves little here.
    return tf.distribute.MirroredStrategy(
        devices, cross_device_ops=None if gpus else tf.distribute.ReductionToOneDevice())
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy()
  raise ValueError(f"unknown strategy {name!r}")


def describe(strategy):
  """e.g. "1 replica on /CPU:0" or "2 replicas on /GPU:0, /GPU:1"."""
  if strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy():
    devices = [(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0].name]
  else:
    devices = strategy.extended.worker_devices
  short = [d.rsplit("/device:", 1)[-1] for d in devices]
  count = strategy.num_replicas_in_sync
  return f"{count} replica{'s' if count > 1 else ''} on /{', /'.join(short)}"


def is_chief(strategy):
  """Whether this process writes the run directory (always, except on non-chief workers)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  return resolver.task_type == "chief" or (
      resolver.task_type == "worker" and resolver.task_id == 0
      and "chief" not in resolver.cluster_spec().as_dict())
