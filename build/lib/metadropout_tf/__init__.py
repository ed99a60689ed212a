"""Meta-dropout (Lee et al., ICLR 2020) in TensorFlow 2 / Keras."""
import os

# oneDNN kernels made the meta-training step 1.3-1.7x faster on the 2-core AMD
# CPUs we measured on, where TensorFlow leaves them off by default. It only
# takes effect if set before TensorFlow is first imported; users can override it.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
