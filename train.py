"""`python train.py ...` is `metadropout-train ...` (metadropout_tf/train.py), from the repository."""
from metadropout_tf import train

if __name__ == "__main__":
  train.run()
