"""RESULTS.md's tables and figures, from the committed results alone (no run directory needed).

  python experiments/results_page.py                 # every section that has results
  python experiments/results_page.py --sections=omniglot_5way1shot_2000_seeds
  python experiments/results_page.py --page=RESULTS.md   # and rewrite RESULTS.md's tables
  python experiments/results_page.py --page=RESULTS.md --check   # exit 1 if they are stale

For each section, a folder of results/ that experiments/seeds.py filled (LABEL/seed_S.json), it
prints the section's Markdown table: per model each seed's accuracy with its interval over the
test episodes, the mean over seeds with its 95% t-interval over seeds, and meta-dropout's gain
(the model minus the same algorithm without meta-dropout, paired per seed on the same episodes,
then its mean and t-interval over seeds). It draws results/figures/<section>.png, a
dot-and-whisker plot of the accuracies (each seed, the mean over seeds, and the paper's number
with its interval where the paper has that model in that setting), and
results/figures/<section>_curves.png, every seed's held-out points during training with their
intervals.
"""
import collections
import glob
import os
import re
import sys

from absl import app
from absl import flags
import matplotlib

from metadropout_tf import config
from metadropout_tf import files
from metadropout_tf import intervals
from metadropout_tf import variants

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  pylint: disable=g-import-not-at-top

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# section folder -> (title, the paper's setting of variants.SETTINGS or None if it has none)
SECTIONS = {
    "omniglot_5way1shot_2000_seeds": ("Omniglot 5-way 1-shot, 2000 iterations", None),
    "omniglot_20way1shot_2000_seeds": ("Omniglot 20-way 1-shot, 2000 iterations (5% of the "
                                       "paper's)", "omniglot_20way_1shot"),
}

flags.DEFINE_list("sections", list(SECTIONS), "folders of --results_dir to draw")
flags.DEFINE_string("results_dir", os.path.join(ROOT, "results"), "where the sections are")
flags.DEFINE_string("output_dir", None, "where the PNGs go (default: RESULTS_DIR/figures)")
flags.DEFINE_string("page", None, "a Markdown page (RESULTS.md) whose tables between "
                    "<!-- results_page: SECTION --> and <!-- /results_page --> are rewritten")
flags.DEFINE_boolean("check", False, "with --page: change nothing, draw nothing; exit 1 if the "
                     "page's tables differ from the results")
FLAGS = flags.FLAGS


def variant_of(label):
  """(variant name, meta-gradient or None) of a seeds.py label such as maml_authors_tf1."""
  for gradient in config.META_GRADIENTS:
    if label.endswith(f"_{gradient}"):
      return label[:-len(gradient) - 1], gradient
  return label, None


def read_section(folder):
  """{label: {seed: result}} of folder/LABEL/seed_S.json, labels in variants.py's order."""
  results = collections.defaultdict(dict)
  for path in glob.glob(os.path.join(folder, "*", "seed_*.json")):
    seed = int(re.fullmatch(r"seed_(\d+)\.json", os.path.basename(path)).group(1))
    try:
      result = files.read_json(path, required=("accuracy", "ci95"))
    except ValueError as error:
      raise ValueError(f"{error}: rerun experiments/seeds.py to meta-test that model again")
    results[os.path.basename(os.path.dirname(path))][seed] = result
  order = {name: index for index, name in enumerate(variants.VARIANTS)}
  return dict(sorted(results.items(), key=lambda item: (
      order.get(variant_of(item[0])[0], len(order)), item[0])))


def row_label(label):
  name, gradient = variant_of(label)
  row = variants.VARIANTS[name].row if name in variants.VARIANTS else name
  return f"{row} ({gradient})" if gradient else row


# A meta-dropout model -> the same algorithm without meta-dropout (its gain is measured against it).
WITHOUT_METADROP = {"metadrop": "maml", "metasgd_metadrop": "metasgd", "anil_metadrop": "anil"}


def without_metadrop(label):
  """The label of the same algorithm and meta-gradient without meta-dropout, or None."""
  name, gradient = variant_of(label)
  base = WITHOUT_METADROP.get(name)
  return base and (f"{base}_{gradient}" if gradient else base)


def paper_result(label, setting):
  """(accuracy, interval) of the paper for this model in `setting`, or None."""
  variant = setting and variants.VARIANTS.get(variant_of(label)[0])
  return variant.paper_result(setting) if variant else None


def markdown_table(results, setting=None):
  """The section's table: seeds, mean over seeds, meta-dropout's paired gain (and the paper's
  number at its 40K iterations, if the section has a paper setting)."""
  seeds = sorted({seed for by_seed in results.values() for seed in by_seed})
  lines = ["| model | meta-gradient | " + " | ".join(f"seed {s}" for s in seeds)
           + " | mean over seeds | meta-dropout's gain |" + (" paper |" if setting else ""),
           "| --- " * (len(seeds) + 4 + bool(setting)) + "|"]
  for label, by_seed in results.items():
    gradient = next(iter(by_seed.values()))["config"]["meta"]["meta_gradient"]
    cells = [f"{by_seed[s]['accuracy']:.2f} +- {by_seed[s]['ci95']:.2f}" if s in by_seed else ""
             for s in seeds]
    accuracies = [by_seed[s]["accuracy"] for s in sorted(by_seed)]
    mean = ("{:.2f} +- {:.2f}".format(*intervals.across_seeds(accuracies))
            if len(accuracies) >= 2 else "(one seed)")
    base = without_metadrop(label)
    shared = sorted(set(by_seed) & set(results.get(base, {})))
    differences = [intervals.paired_difference(by_seed[s], results[base][s]) for s in shared]
    if len(differences) >= 2:
      gain = "{:+.2f} +- {:.2f} over {} seeds".format(
          *intervals.across_seeds([d for d, _ in differences]), len(differences))
    elif differences:
      gain = "{:+.2f} +- {:.2f} (seed {}, over episodes)".format(*differences[0], shared[0])
    else:
      gain = ""
    paper = paper_result(label, setting)
    lines.append(f"| {row_label(variant_of(label)[0])} | {gradient} | " + " | ".join(cells)
                 + f" | {mean} | {gain} |"
                 + ((" {:.2f} +- {:.2f} |".format(*paper) if paper else " |") if setting else ""))
  return "\n".join(lines)


def legend_outside(axis):
  """One legend entry per label, to the right of the axes (clear of the data)."""
  handles, labels = axis.get_legend_handles_labels()
  unique = dict(zip(labels, handles))
  axis.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.02, 1.0),
              fontsize="small")


def plot_accuracies(results, setting, title, path):
  """Dot-and-whisker: per model its seeds, their mean over seeds and the paper's number."""
  figure, axis = plt.subplots(figsize=(8, 0.8 + 0.75 * len(results)))
  for row, (label, by_seed) in enumerate(results.items()):
    seeds = sorted(by_seed)
    for i, seed in enumerate(seeds):
      y = row + 0.12 * (i - (len(seeds) - 1) / 2)
      axis.errorbar(by_seed[seed]["accuracy"], y, xerr=by_seed[seed]["ci95"], fmt="o",
                    color="0.55", markersize=4, capsize=2,
                    label="one seed (interval over test episodes)" if row == i == 0 else None)
    if len(seeds) >= 2:
      mean, ci95 = intervals.across_seeds([by_seed[s]["accuracy"] for s in seeds])
      axis.errorbar(mean, row - 0.3, xerr=ci95, fmt="D", color="black", capsize=4,
                    label="mean over seeds (95% t-interval)" if row == 0 else None)
    paper = paper_result(label, setting)
    if paper:
      axis.errorbar(paper[0], row + 0.3, xerr=paper[1], fmt="*", color="tab:red",
                    markersize=10, capsize=4, label="paper (40K iterations)")
  axis.set_yticks(range(len(results)))
  axis.set_yticklabels([row_label(label) for label in results])
  axis.invert_yaxis()
  axis.set_xlabel("meta-test accuracy, % (1000 episodes)")
  axis.set_title(title)
  axis.grid(axis="x", alpha=0.3)
  legend_outside(axis)
  figure.tight_layout()
  files.write_figure(figure, path)
  plt.close(figure)


def plot_curves(results, title, path):
  """Every seed's held-out points during training, one colour per model; False if none."""
  figure, axis = plt.subplots(figsize=(8.5, 4.5))
  labelled = set()
  for color, (label, by_seed) in zip(plt.cm.tab10.colors, results.items()):
    for seed in sorted(by_seed):
      held_out = by_seed[seed].get("held_out")
      if not held_out:
        continue
      steps, accuracies, errors = zip(*held_out["points"])
      axis.errorbar(steps, accuracies, yerr=None if None in errors else errors, color=color,
                    marker="o", markersize=3, capsize=2, alpha=0.8, linewidth=1,
                    label=None if label in labelled else row_label(label))
      labelled.add(label)
  drawn = bool(labelled)
  if drawn:
    axis.set_xlabel("meta-iteration")
    axis.set_ylabel("held-out accuracy, % (100 episodes)")
    axis.set_title(f"{title}: every seed")
    axis.grid(alpha=0.3)
    legend_outside(axis)
    figure.tight_layout()
    files.write_figure(figure, path)
  plt.close(figure)
  return drawn


def page_with_tables(text, tables):
  """`text` with each <!-- results_page: NAME --> ... <!-- /results_page --> block holding
  tables[NAME] (blocks of other sections are left as they are)."""
  def replace(match):
    name = match.group(1)
    return (f"<!-- results_page: {name} -->\n{tables[name]}\n<!-- /results_page -->"
            if name in tables else match.group(0))
  return re.sub(r"<!-- results_page: (\S+) -->\n.*?<!-- /results_page -->", replace, text,
                flags=re.S)


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}: every option is a --flag")
  unknown = [name for name in FLAGS.sections if name not in SECTIONS]
  if unknown:
    sys.exit(f"error: --sections: unknown {', '.join(unknown)}; one of {', '.join(SECTIONS)}")
  output_dir = FLAGS.output_dir or os.path.join(FLAGS.results_dir, "figures")
  tables = {}
  for name in FLAGS.sections:
    title, setting = SECTIONS[name]
    try:
      results = read_section(os.path.join(FLAGS.results_dir, name))
    except ValueError as error:
      sys.exit(f"error: {error}")
    if not results:
      print(f"{name}: no results yet (run its experiments/ command)")
      continue
    tables[name] = markdown_table(results, setting)
    if FLAGS.check:
      continue
    print(f"## {title}\n\n{tables[name]}\n")
    plot_accuracies(results, setting, title, os.path.join(output_dir, f"{name}.png"))
    drawn = plot_curves(results, title, os.path.join(output_dir, f"{name}_curves.png"))
    print(f"{name}: wrote {os.path.join(output_dir, name)}.png"
          + (" and _curves.png" if drawn else " (no held-out points in its results)"))
  if FLAGS.page:
    with open(FLAGS.page) as f:
      text = f.read()
    updated = page_with_tables(text, tables)
    if FLAGS.check:
      if updated != text:
        sys.exit(f"error: {FLAGS.page}'s tables differ from the results: python "
                 f"experiments/results_page.py --page={FLAGS.page}")
      print(f"{FLAGS.page}: its tables match the results")
    elif updated != text:
      files.write_text(FLAGS.page, updated)
      print(f"rewrote the tables of {FLAGS.page}")


if __name__ == "__main__":
  app.run(main)
