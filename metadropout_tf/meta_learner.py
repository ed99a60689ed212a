"""MAML / meta-dropout: the inner loop (`adapt`) and the meta-update.

The inner loop is functional: fast weights are tensors computed from the
meta-weights, never assigned to variables, so the outer tape sees the whole
unrolled adaptation and the meta-gradient is second order (Eq. 3-4). phi gets
its gradient only through that second-order path.
"""
import keras
import tensorflow as tf

from metadropout_tf import episodes as episodes_lib
from metadropout_tf import graph_options
from metadropout_tf import rng


def cross_entropy(logits, labels):
  """Mean softmax cross-entropy; logits [..., N], int labels [...]."""
  return soft_cross_entropy(logits, tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype))


def soft_cross_entropy(logits, targets):
  """Mean softmax cross-entropy against class probabilities `targets` [..., N]."""
  # Written out: the fused sparse op's gradient is not differentiable, and the
  # inner loss must be (second-order meta-gradient).
  return -tf.reduce_mean(tf.reduce_sum(targets * tf.nn.log_softmax(logits), -1))


def accuracy(logits, labels):
  return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, tf.int32), labels), tf.float32))


def inner_loss(model, params, images, labels, num_samples, seed, constant_bn_backward=False):
  """Support loss averaged over `num_samples` noise draws (Eq. 3), all in one batch, plus the
  perturbation's own term (a KL) if it has one.

  images [B, H, W, C], labels [B]; batch-norm moments stay per sample.
  """
  tiled = tf.tile(images[None], [num_samples, 1, 1, 1, 1])
  targets = tf.one_hot(labels, model.config.num_ways, dtype=tiled.dtype)
  logits, targets, penalty = model.forward_terms(
      params, tiled, sample=True, seed=seed, targets=tf.tile(targets[None], [num_samples, 1, 1]),
      constant_bn_backward=constant_bn_backward)
  loss = soft_cross_entropy(logits, targets)
  return loss if penalty is None else loss + tf.reduce_mean(penalty)


def learning_rate_name(name):
  """The name of Meta-SGD's learning rates for the theta weight `name`."""
  return f"{name}/inner_lr"


def inner_learning_rates(model, meta_config):
  """Meta-SGD (Li et al., 2017): one learned inner step size per theta element.

  {"conv1/kernel/inner_lr": keras.Variable, ...}, initialised to `inner_lr`;
  empty for MAML's one fixed step size.
  """
  if not meta_config.meta_sgd:
    return {}
  return {learning_rate_name(name): keras.Variable(tf.fill(v.shape, meta_config.inner_lr),
                                                  name=learning_rate_name(name).replace("/", "_"))
          for name, v in model.named_variables(("theta",)).items()}


def adapt(model, params, support_images, support_labels, inner_lr, num_steps, num_samples,
          seed, meta_gradient="exact"):
  """`num_steps` SGD steps of theta on the support loss; phi and outer stay fixed.

  A theta weight steps with its Meta-SGD learning rates where `params` holds
  them (see `inner_learning_rates`), else with the scalar `inner_lr`.
  Returns params with theta replaced by the fast weights (tensors), which stay
  differentiable w.r.t. every entry of `params`. `meta_gradient` (a value of
  `config.META_GRADIENTS`) says which second-order terms that derivative keeps;
  the fast weights themselves are the same for all three.

  The steps are a `tf.while_loop`: the graph holds one step and its
  derivatives, not `num_steps` copies, which cut the 20-way training step's
  trace from 6.4 s to 2.5 s (and its first run by 3 s).
  """
  names = list(model.theta)
  step_sizes = [params.get(learning_rate_name(name), inner_lr) for name in names]

  def inner_step(step, theta):
    fast = {**params, **dict(zip(names, theta))}
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(theta)
      loss = inner_loss(model, fast, support_images, support_labels, num_samples,
                        rng.fold_in(seed, step), meta_gradient == "authors_tf1")
    grads = tape.gradient(loss, theta)
    if meta_gradient == "first_order":
      grads = [tf.stop_gradient(g) for g in grads]
    return step + 1, [w - lr * g for w, lr, g in zip(theta, step_sizes, grads)]

  _, theta = tf.while_loop(lambda step, _: step < num_steps, inner_step,
                           (tf.constant(0), [params[name] for name in names]),
                           maximum_iterations=num_steps)  # XLA needs the bound
  return {**params, **dict(zip(names, theta))}


def query_logits(model, fast, support_images, query_images):
  """Query logits [Q, N] with deterministic noise (Eq. 4).

  Transductive batch norm normalises the queries with their own moments;
  "support" batch norm normalises them with the support set's (inductive).
  """
  if model.config.batch_norm == "transductive":
    return model.forward(fast, query_images[None], sample=False, seed=(0, 0))[0]
  num_support = tf.shape(support_images)[0]
  images = tf.concat([support_images, query_images], 0)[None]
  logits = model.forward(fast, images, sample=False, seed=(0, 0), num_stats=num_support)[0]
  return logits[num_support:]


def adapt_for_test(model, params, meta_config, support_images, support_labels, seed,
                   num_samples):
  """Algorithm 2's inner loop: params with theta adapted to one support set.

  Without stochastic noise every one of the S draws is the same pass, so one is run.
  """
  if not model.stochastic:
    num_samples = 1
  return adapt(model, params, support_images, support_labels, meta_config.inner_lr,
               meta_config.num_inner_steps, num_samples, seed, "first_order")


def predict(model, fast, support_images, query_images):
  """Query class probabilities [Q, N] of adapted weights."""
  return tf.nn.softmax(query_logits(model, fast, support_images, query_images))


def adapt_and_predict(model, params, meta_config, support_images, support_labels, query_images,
                      seed, num_samples):
  """Meta-test one task (Algorithm 2): query class probabilities [Q, N]."""
  fast = adapt_for_test(model, params, meta_config, support_images, support_labels, seed,
                        num_samples)
  return predict(model, fast, support_images, query_images)


class MetaLearner(tf.Module):
  """Meta-trains a `network.Conv4` on meta-batches of episodes.

  Every function is a `tf.function` with an input signature fixed by the
  episode config, so each is traced once. Randomness is a pure function of
  (seed, step): noise uses stateless ops, so a resumed run redraws the same noise.
  Under a `tf.distribute` strategy (the model built in its scope) each replica
  computes its share of the meta-batch's tasks; task t keeps its own random
  stream, so the numbers do not depend on the replica count.
  """

  def __init__(self, model, meta_config, episode_config, seed=0, strategy=None):
    super().__init__()
    graph_options.apply()
    self.model = model
    self.meta_config = meta_config
    self.episode_config = episode_config
    self.seed = seed
    self.strategy = strategy or tf.distribute.get_strategy()
    with self.strategy.scope():
      self.inner_lrs = inner_learning_rates(model, meta_config)
      self.variables_by_name = {**model.named_variables(), **self.inner_lrs}
      # Clipped here, not by Keras' clipvalue: Keras clips each replica's part
      # before summing them, and the paper clips the meta-gradient itself.
      self.optimizer = keras.optimizers.Adam(meta_config.meta_lr, epsilon=1e-8)
      self.optimizer.build(list(self.variables_by_name.values()))
    image_shape = model.config.image_shape
    batch_spec = episodes_lib.episode_spec(episode_config, image_shape, batched=True)
    task_spec = episodes_lib.episode_spec(episode_config, image_shape, batched=False)
    step_spec = tf.TensorSpec([], tf.int64)
    function = graph_options.function
    jit = graph_options.jit_compile()
    self.meta_gradients = function(self._meta_gradients, [batch_spec, step_spec])
    self.task_gradients = function(self._task_gradients, [task_spec, tf.TensorSpec([2], tf.int64)],
                                   jit)
    self.apply_gradients = function(
        self._apply_gradients,
        [[tf.TensorSpec(v.shape, tf.float32) for v in self.variables_by_name.values()]])
    self.predict_task = function(self._predict_task, [
        task_spec.support_images, task_spec.support_labels, task_spec.query_images,
        tf.TensorSpec([2], tf.int64)], jit)

  @property
  def params(self):
    """Every meta-learned weight by name: the model's and Meta-SGD's step sizes."""
    return {name: v.value for name, v in self.variables_by_name.items()}

  def _task_gradients(self, task, seed):
    """Query loss, accuracy and meta-gradient of one task (second order)."""
    cfg = self.meta_config
    variables = [v.value for v in self.variables_by_name.values()]
    with tf.GradientTape() as tape:
      fast = adapt(self.model, self.params, task.support_images, task.support_labels, cfg.inner_lr,
                   cfg.num_inner_steps, cfg.num_mc_samples, seed, cfg.meta_gradient)
      logits = query_logits(self.model, fast, task.support_images, task.query_images)
      loss = cross_entropy(logits, task.query_labels)
    grads = tape.gradient(loss, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return loss, accuracy(logits, task.query_labels), grads

  def _meta_gradients(self, batch, step):
    """Mean query loss, accuracy and meta-gradient over a meta-batch, and whether all are finite."""
    summed = self.strategy.run(self._replica_gradients, args=(batch, step))
    # Every replica holds the sum: take this host's first copy.
    loss, acc, *grads = [self.strategy.experimental_local_results(v)[0] for v in summed]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads + [loss]])
    return loss, acc, grads, finite

  def _replica_gradients(self, batch, step):
    """Loss, accuracy and meta-gradient summed over the tasks of every replica, divided by B.

    Each replica sums its own share of the tasks; one all-reduce adds the shares.

    A `tf.while_loop` over the tasks rather than a Python loop: the graph holds
    one copy of a task's second-order computation, which traces in less than
    half the time (26 s vs 57 s at 20-way) and runs as fast.
    """
    step_seed = rng.step_seed(self.seed, step)
    num_tasks = self.episode_config.meta_batch_size
    context = tf.distribute.get_replica_context()
    share = num_tasks // context.num_replicas_in_sync
    first = tf.cast(context.replica_id_in_sync_group, tf.int32) * share

    def add_task(t, loss, acc, grads):
      task = tf.nest.map_structure(lambda x: x[t], batch)
      task_loss, task_acc, task_grads = self.task_gradients(task, rng.fold_in(step_seed, t))
      return t + 1, loss + task_loss, acc + task_acc, [a + b for a, b in zip(grads, task_grads)]

    dtype = tf.as_dtype(self.model.dtype)
    start = (first, tf.zeros([], dtype), tf.zeros([]),
             [tf.zeros(v.shape, v.dtype) for v in self.variables_by_name.values()])
    _, loss, acc, grads = tf.while_loop(lambda t, *_: t < first + share, add_task, start)
    return context.all_reduce(tf.distribute.ReduceOp.SUM,
                              [x / num_tasks for x in [loss, acc, *grads]])

  def _apply_gradients(self, grads):
    """One Adam step on the meta-weights, the meta-gradient clipped elementwise.

    Returns whether every weight is still finite afterwards.
    """
    clip = self.meta_config.grad_clip
    clipped = [tf.clip_by_value(g, -clip, clip) for g in grads]

    def update(clipped):  # Keras sums the replicas' gradients: each passes an equal share
      share = 1.0 / tf.distribute.get_replica_context().num_replicas_in_sync
      self.optimizer.apply_gradients(zip([g * share for g in clipped],
                                         self.variables_by_name.values()))

    self.strategy.run(update, args=(clipped,))
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(v.value))
                          for v in self.variables_by_name.values()])

  def train_step(self, batch, step):
    """Returns (loss, accuracy, finite).

    A non-finite meta-gradient is not applied; `finite` is also False when the
    update made a weight non-finite (the caller must then not save them).
    """
    loss, acc, grads, finite = self.meta_gradients(batch, tf.constant(step, tf.int64))
    if finite:
      finite = self.apply_gradients(grads)
    return float(loss), float(acc), bool(finite)

  def _predict_task(self, support_images, support_labels, query_images, seed):
    """Meta-test query probabilities of one task, S = num_test_mc_samples, noise from `seed`."""
    return adapt_and_predict(self.model, self.params, self.meta_config, support_images,
                             support_labels, query_images, seed,
                             self.meta_config.num_test_mc_samples)
