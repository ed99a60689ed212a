"""The same meta-training step and meta-test pass in PyTorch: the peer for `compare_with_pytorch.py`.

Op for op what `metadropout_tf` computes for meta-dropout (Eq. 3-6): a functional conv4 with a
phi conv per layer reading the layer's input, z = softplus(mu + eps) on the support pass and
softplus(mu) on the query pass, batch norm from each Monte Carlo sample's batch moments with a
learned offset, the head's logit noise, `num_steps` inner SGD steps with `create_graph=True`
(exact second-order meta-gradient), the meta-gradient clipped to [-3, 3] and one Adam step.
Inputs are random images of the setting's shape (speed does not depend on the pixels).

  pip install -e ".[bench]"
  python benchmarks/torch_reference.py --setting=20way --iters=4            # eager
  python benchmarks/torch_reference.py --setting=20way --iters=4 --compile  # torch.compile

Prints one JSON line: {"setting", "first_call": s, "per_iter": [s, ...]} (the meta-test pass with --meta_test).
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import time_calls  # pylint: disable=wrong-import-position

# name: (image size, channels, filters, way, shot, query, metabatch, inner_lr); the same settings
# as benchmark_step.py's.
SETTINGS = {
    "20way": (28, 1, 64, 20, 1, 15, 8, 0.1),
    "5way": (28, 1, 64, 5, 1, 15, 4, 0.1),
    "mini_5way1shot": (84, 3, 32, 5, 1, 15, 4, 0.01),
    "mini_5way5shot": (84, 3, 32, 5, 5, 15, 4, 0.01),
}
NUM_INNER_STEPS = 5
BN_EPSILON = 1e-3
GRAD_CLIP = 3.0


def init_params(size, channels, filters, way, generator):
  """theta (convs, head), phi (noise convs, the head's noise column) and the batch-norm offsets."""
  def normal(*shape):
    return (0.02 * torch.randn(*shape, generator=generator)).requires_grad_()

  def zeros(*shape):
    return torch.zeros(*shape).requires_grad_()

  theta, phi, outer = {}, {}, {}
  in_channels = channels
  for layer in range(4):
    theta[f"conv{layer}/kernel"] = normal(filters, in_channels, 3, 3)
    theta[f"conv{layer}/bias"] = zeros(filters)
    phi[f"conv{layer}/noise_kernel"] = normal(filters, in_channels, 3, 3)
    phi[f"conv{layer}/noise_bias"] = zeros(filters)
    outer[f"bn{layer}/offset"] = zeros(filters)
    in_channels, size = filters, size // 2
  features = filters * size * size
  theta["head/kernel"], theta["head/bias"] = normal(features, way), zeros(way)
  phi["head/noise_kernel"], phi["head/noise_bias"] = normal(features, 1), zeros(1)
  return theta, phi, outer


def forward(params, images, num_samples, sample, generator):
  """images [S*B, C, H, W] (sample-major) -> logits [S*B, way]; batch-norm moments per sample."""
  x = images
  for layer in range(4):
    f = F.conv2d(x, params[f"conv{layer}/kernel"], params[f"conv{layer}/bias"], padding=1)
    mu = F.conv2d(x, params[f"conv{layer}/noise_kernel"], params[f"conv{layer}/noise_bias"],
                  padding=1)
    a = mu + torch.randn(mu.shape, generator=generator) if sample else mu
    f = f * F.softplus(a)
    # Per-sample moments: the S samples become channel groups of one batch-norm call.
    batch, filters, height, width = f.shape
    grouped = f.reshape(num_samples, batch // num_samples, filters, height, width).transpose(0, 1)
    grouped = grouped.reshape(batch // num_samples, num_samples * filters, height, width)
    normed = F.batch_norm(grouped, None, None, None,
                          params[f"bn{layer}/offset"].repeat(num_samples), True, 0.0, BN_EPSILON)
    normed = normed.reshape(batch // num_samples, num_samples, filters, height, width)
    x = F.max_pool2d(F.relu(normed.transpose(0, 1).reshape(batch, filters, height, width)), 2)
  x = x.flatten(1)
  logits = x @ params["head/kernel"] + params["head/bias"]
  if sample:
    sigma = F.softplus(x @ params["head/noise_kernel"] + params["head/noise_bias"])
    logits = logits + sigma * torch.randn(logits.shape, generator=generator)
  return logits


def adapt(theta, others, images, labels, num_samples, inner_lr, create_graph, generator):
  """NUM_INNER_STEPS SGD steps of theta on the support loss averaged over S samples."""
  tiled = images.repeat(num_samples, 1, 1, 1)
  tiled_labels = labels.repeat(num_samples)
  for _ in range(NUM_INNER_STEPS):
    loss = F.cross_entropy(forward({**theta, **others}, tiled, num_samples, True, generator),
                           tiled_labels)
    grads = torch.autograd.grad(loss, list(theta.values()), create_graph=create_graph)
    theta = {name: w - inner_lr * g for (name, w), g in zip(theta.items(), grads)}
  return theta


class Step:
  """One meta-iteration: per task adapt (second order), query loss, backward; clip; Adam."""

  def __init__(self, setting, compile_forward=False):
    size, channels, filters, way, shot, query, metabatch, inner_lr = SETTINGS[setting]
    self.generator = torch.Generator().manual_seed(0)
    self.theta, self.phi, self.outer = init_params(size, channels, filters, way, self.generator)
    self.weights = [*self.theta.values(), *self.phi.values(), *self.outer.values()]
    self.optimizer = torch.optim.Adam(self.weights, lr=1e-3, eps=1e-8)
    self.inner_lr, self.metabatch = inner_lr, metabatch
    shape = (channels, size, size)
    self.support = torch.rand(metabatch, way * shot, *shape, generator=self.generator)
    self.query = torch.rand(metabatch, way * query, *shape, generator=self.generator)
    self.support_labels = torch.arange(way).repeat_interleave(shot).repeat(metabatch, 1)
    self.query_labels = torch.arange(way).repeat_interleave(query).repeat(metabatch, 1)
    self.task_loss = torch.compile(self._task_loss) if compile_forward else self._task_loss

  def _task_loss(self, t):
    others = {**self.phi, **self.outer}
    fast = adapt(self.theta, others, self.support[t], self.support_labels[t], 1, self.inner_lr,
                 True, self.generator)
    logits = forward({**fast, **others}, self.query[t], 1, False, self.generator)
    return F.cross_entropy(logits, self.query_labels[t])

  def __call__(self):
    self.optimizer.zero_grad()
    for t in range(self.metabatch):
      (self.task_loss(t) / self.metabatch).backward()
    for w in self.weights:
      w.grad.clamp_(-GRAD_CLIP, GRAD_CLIP)
    self.optimizer.step()


class MetaTest:
  """One meta-test episode (Algorithm 2): S-sample first-order adaptation, then the queries."""

  def __init__(self, setting, num_samples=30):
    size, channels, filters, way, shot, query, _, inner_lr = SETTINGS[setting]
    self.generator = torch.Generator().manual_seed(0)
    self.theta, phi, outer = init_params(size, channels, filters, way, self.generator)
    self.others = {**phi, **outer}
    self.inner_lr, self.num_samples = inner_lr, num_samples
    shape = (channels, size, size)
    self.support = torch.rand(way * shot, *shape, generator=self.generator)
    self.query = torch.rand(way * query, *shape, generator=self.generator)
    self.support_labels = torch.arange(way).repeat_interleave(shot)

  def __call__(self):
    fast = adapt(self.theta, self.others, self.support, self.support_labels, self.num_samples,
                 self.inner_lr, False, self.generator)
    with torch.no_grad():
      return torch.softmax(forward({**fast, **self.others}, self.query, 1, False, self.generator),
                           -1)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--setting", choices=sorted(SETTINGS), default="20way")
  parser.add_argument("--iters", type=int, default=4, help="timed calls after the first")
  parser.add_argument("--compile", action="store_true", help="torch.compile each task's loss")
  parser.add_argument("--meta_test", action="store_true",
                      help="time one meta-test episode (S = 30) instead of the training step")
  args = parser.parse_args(argv)
  function = MetaTest(args.setting) if args.meta_test else Step(args.setting, args.compile)
  first, per_iter = time_calls(function, args.iters)
  print(json.dumps(dict(setting=args.setting, first_call=first, per_iter=per_iter)), flush=True)


if __name__ == "__main__":
  main(sys.argv[1:])
