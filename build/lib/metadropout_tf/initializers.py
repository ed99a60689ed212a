"""The authors' code's initial weights, seeded per variable (Keras' global seed did not fix them)."""
import keras


def conv_init(seed):
  """The original code's conv init."""
  return keras.initializers.TruncatedNormal(stddev=0.02, seed=seed)


def dense_init(seed):
  """The original code's dense init."""
  return keras.initializers.RandomNormal(stddev=0.02, seed=seed)
