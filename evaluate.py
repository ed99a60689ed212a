"""`python evaluate.py ...` is `metadropout-evaluate ...` (metadropout_tf/evaluate.py), from the repository."""
from metadropout_tf import evaluate

if __name__ == "__main__":
  evaluate.run()
