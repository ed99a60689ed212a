"""docs/flags.md from the CLIs' absl flags, so the page cannot drift from the code.

  python -m metadropout_tf.flag_docs > docs/flags.md

Each CLI defines its flags in absl's one global registry (train and evaluate share names), so
each is read in a process of its own.
"""
import subprocess
import sys

COMMANDS = (("metadropout-train", "metadropout_tf.train"),
            ("metadropout-evaluate", "metadropout_tf.evaluate"))
OWN_MODULES = ("metadropout_tf.cli",)


def table(module):
  """The Markdown table of the flags `module` and the shared CLI helpers define (run in a fresh
  process: importing the module defines them)."""
  __import__(module)
  from absl import flags  # pylint: disable=g-import-not-at-top
  by_module = flags.FLAGS.flags_by_module_dict()
  rows = ["| flag | default | meaning |", "| --- | --- | --- |"]
  for name in (module, *OWN_MODULES):
    for flag in sorted(by_module.get(name, []), key=lambda f: f.name):
      default = "" if flag.default is None else f"`{flag.default_as_str.strip(chr(39))}`"
      if flag.flag_type() == "bool":
        default = f"`{flag.default}`"
      help_text = flag.help.replace("|", "\\|")  # enums' help starts <a|b|c>: (absl)
      rows.append(f"| `--{flag.name}` | {default} | {help_text} |")
  return "\n".join(rows)


def page():
  parts = ["# Flags", "",
           "Generated from the code by `python -m metadropout_tf.flag_docs > docs/flags.md` "
           "(a test fails when it drifts). Boolean flags also take `--no<name>`; "
           "`--flagfile=FILE` reads flags from a file (a preset), whose own `--flagfile` lines "
           "are relative to that file."]
  for command, module in COMMANDS:
    text = subprocess.run([sys.executable, "-m", "metadropout_tf.flag_docs", "--table", module],
                          check=True,
                          capture_output=True, text=True).stdout
    parts += ["", f"## {command}", "", f"(also `python -m {module}`)", "", text.rstrip()]
  return "\n".join(parts) + "\n"


if __name__ == "__main__":
  if len(sys.argv) == 3 and sys.argv[1] == "--table":
    print(table(sys.argv[2]))
  else:
    sys.stdout.write(page())
