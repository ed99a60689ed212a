"""LABEL=PATH arguments, which name the runs a script compares, parsed alike by every script.
No TensorFlow import, so that compare_runs.py stays light."""
import sys


def parse(items, what, minimum=1):
  """{label: path} of LABEL=PATH items, in order. ValueError (what was wrong, what to do) for an
  item that is not LABEL=PATH, a label given twice, or fewer than `minimum` items."""
  if len(items) < minimum:
    raise ValueError(f"{len(items)} runs given: pass {minimum} or more LABEL={what} arguments")
  runs = {}
  for item in items:
    label, _, path = item.partition("=")
    if not label or not path:
      raise ValueError(f"{item!r} is not LABEL={what}: name each run, e.g. MAML=<{what}>")
    if label in runs:
      raise ValueError(f"the label {label!r} is given twice: give each run its own label")
    runs[label] = path
  return runs


def parse_or_exit(items, what, minimum=1):
  """parse(), or exit non-zero with its one-line error: for the scripts' command lines."""
  try:
    return parse(items, what, minimum)
  except ValueError as error:
    sys.exit(f"error: {error}")
