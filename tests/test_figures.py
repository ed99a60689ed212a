"""The figures' data (Fig. 4's projection, Fig. 7's activations) and their commands."""
import os

import numpy as np
import pytest
import tensorflow as tf

from helpers import OMNIGLOT_DIR, TFDS_DIR, run
from metadropout_tf import figures
from metadropout_tf import inner_loop
from helpers import SEED, random_task, tiny_model


def test_the_projection_puts_each_point_on_the_side_its_logits_choose():
  model = tiny_model("multiplicative")
  support_x, support_y, query_x, query_y = random_task()
  fast = inner_loop.adapt(model, model.params, support_x, support_y,
                          {name: 0.5 for name in model.theta}, 2, 1, SEED)
  panel = figures.boundary_projection(model, fast, support_x, support_y, query_x, query_y,
                                      (0, 2), num_draws=5, seed=SEED)
  x, _, labels = panel["query"]
  assert set(labels) <= {0, 2} and len(x) == 4
  logits = inner_loop.query_logits(model, fast, support_x, query_x).numpy()
  keep = np.isin(query_y.numpy(), (0, 2))
  margin = logits[keep, 0] - logits[keep, 2]
  length = np.linalg.norm(fast["head/kernel"].numpy()[:, 0] - fast["head/kernel"].numpy()[:, 2])
  np.testing.assert_allclose((x - panel["boundary"]) * length, margin, rtol=1e-4, atol=1e-5)
  assert len(panel["support_draws"][0]) == 5 * 4  # 2 classes x 2 shots x 5 draws


def test_stochastic_activations_draw_around_the_query_pass():
  model = tiny_model("multiplicative")
  images = random_task()[0]
  activations = figures.stochastic_activations(model, model.params, images, (1, 2), 3, SEED)
  assert set(activations) == {1, 2} and activations[2][0].shape == (8, 8, 3)
  deterministic, draws = activations[1]
  assert deterministic.shape == (16, 16, 3) and draws.shape == (3, 16, 16, 3)
  assert not np.allclose(draws[0], draws[1])
  record = {}
  model.forward_terms(model.params, images[None], False, tf.constant([9, 9], tf.int64),
                      record=record)
  np.testing.assert_array_equal(record["block1"][0].numpy(), deterministic)
  grid = figures.activation_grid(deterministic, draws, num_channels=2)
  assert grid.shape == (1, 4 * 16, 2 * 16, 1) and 0 <= grid.min() and grid.max() <= 1


@pytest.mark.parametrize("script, extra", [
    ("experiments/plot_stochastic_features.py", ["--channels=2", "--draws=2"]),
    ("experiments/plot_decision_boundary.py", ["--steps=0,1", "--draws=3"]),
])
@pytest.mark.slow
def test_the_figure_commands_write_pngs(finished_run, tmp_path, script, extra):
  output = str(tmp_path / "figure.png")
  result = run(script, f"--runs=A={finished_run},B={finished_run}", f"--output={output}",
               f"--data_dir={OMNIGLOT_DIR}", f"--tfds_data_dir={TFDS_DIR}", *extra)
  assert result.returncode == 0, result.stderr[-2000:]
  assert os.path.getsize(output) > 10000


@pytest.mark.slow
def test_a_figure_of_a_run_without_checkpoints_is_one_line(tmp_path):
  result = run("experiments/plot_decision_boundary.py", f"--runs=A={tmp_path}",
               f"--output={tmp_path / 'x.png'}")
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1].startswith("error: no config at")
