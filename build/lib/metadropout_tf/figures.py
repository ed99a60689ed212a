"""The data behind the paper's figures, computed from a model and its (adapted) weights.

  stochastic_activations: Fig. 7, layers' activations of one image, deterministic and for
    several noise draws (also the TensorBoard image summaries of training, via `activation_grid`);
  boundary_projection: Fig. 4 and Appendix B, the last latent features of two classes projected
    onto the normal of their decision hyperplane (x) and onto the main remaining direction (y).
"""
import numpy as np
import tensorflow as tf


def stochastic_activations(model, params, images, blocks, num_draws, seed):
  """{block: (deterministic [H, W, C], draws [num_draws, H, W, C])} of conv blocks `blocks`
  (1-4) for images[0], from one query pass and one sampled pass; the batch `images`
  [B, H, W, C] sets batch norm's moments, as a support set does."""
  deterministic, sampled = {}, {}
  model.forward_terms(params, images[None], False, seed, record=deterministic)
  tiled = tf.tile(images[None], [num_draws, 1, 1, 1, 1])
  model.forward_terms(params, tiled, True, seed, record=sampled)
  result = {}
  for block in blocks:
    first = deterministic[f"block{block}"][0]
    draws = tf.reshape(sampled[f"block{block}"], [num_draws, -1, *first.shape])[:, 0]
    result[block] = (first.numpy(), draws.numpy())
  return result


def activation_grid(deterministic, draws, num_channels=4):
  """One grey image [1, rows * H, channels * W, 1]: row 0 deterministic, then one row per draw;
  each channel scaled by its largest value over the rows."""
  rows = np.concatenate([deterministic[None], draws])[..., :num_channels]  # [R, H, W, C]
  rows = rows / np.maximum(rows.max(axis=(0, 1, 2), keepdims=True), 1e-8)
  grid = np.concatenate(np.concatenate(list(np.moveaxis(rows, -1, 0)), axis=2), axis=0)
  return grid[None, ..., None].astype(np.float32)


def last_features(model, params, images, sample, seed, num_draws=1):
  """The head's input [num_draws * B, F] (transductive batch norm over `images`)."""
  record = {}
  model.forward_terms(params, tf.tile(images[None], [num_draws, 1, 1, 1, 1]), sample, seed,
                      record=record)
  return record["features"].numpy()


def boundary_projection(model, fast, support, support_labels, query, query_labels, classes,
                        num_draws, seed):
  """Appendix B's 2-D map of the last latent features of `classes` (c1, c2) under `fast`.

  x = h . n with n = (w_c1 - w_c2) / |w_c1 - w_c2| (the head's columns), so a point is on c1's
  side of the two-class decision boundary x = -(b_c1 - b_c2) / |w_c1 - w_c2| exactly when the
  head gives c1 the larger logit. y is the first principal direction of what remains (the
  paper uses t-SNE there; a projection keeps distances meaningful and needs no new package).
  Returns {"support_draws", "support", "query": (x [n], y [n], labels [n]), "boundary": x}.
  """
  c1, c2 = classes
  kernel, bias = fast["head/kernel"].numpy(), fast["head/bias"].numpy()
  normal = kernel[:, c1] - kernel[:, c2]
  length = np.linalg.norm(normal)
  groups = {
      "support_draws": (last_features(model, fast, support, True, seed, num_draws),
                        np.tile(np.asarray(support_labels), num_draws)),
      "support": (last_features(model, fast, support, False, seed), np.asarray(support_labels)),
      "query": (last_features(model, fast, query, False, seed), np.asarray(query_labels)),
  }
  groups = {name: (h[np.isin(labels, classes)], labels[np.isin(labels, classes)])
            for name, (h, labels) in groups.items()}
  every = np.concatenate([h for h, _ in groups.values()])
  x_of = lambda h: h @ normal / length
  residual = every - np.outer(x_of(every), normal / length)
  centre = residual.mean(0)
  direction = np.linalg.svd(residual - centre, full_matrices=False)[2][0]
  result = {name: (x_of(h), (h - np.outer(x_of(h), normal / length) - centre) @ direction, labels)
            for name, (h, labels) in groups.items()}
  result["boundary"] = -(bias[c1] - bias[c2]) / length
  return result
