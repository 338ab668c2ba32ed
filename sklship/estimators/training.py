"""The training runtime of sklship's Keras estimators.

Seeding and threads: every random choice of a fit comes from one NumPy
generator made from ``random_state`` (:func:`fit_rng`). Layers get their
initializer and dropout seeds from it (:class:`LayerSeeds`), the validation
split its seed, and the training batches are shuffled by stateless
TensorFlow shuffles of that generator's seed (:func:`shuffled_batches`), not
by Keras' ``shuffle=True`` (which draws from TensorFlow's global seed). So a
fit neither reads nor changes Python's ``random``, ``np.random`` or
TensorFlow's global seed, and fits in threads of one process equal the same
fits run one after another. The one serialised piece: networks whose layers
cannot all take seeds (a ``keras.applications`` backbone takes none) are
built under a process-wide lock with Python's ``random`` seeded from the fit
and restored (:func:`default_keras_seeds`).

:class:`FitCall` carries what one ``fit`` or ``partial_fit`` call asks of the
network, and :func:`train_model` runs Keras' ``fit`` with a shuffled
validation split, early stopping and a learning-rate schedule.
"""

import contextlib
import random
import threading
from dataclasses import dataclass, field
from numbers import Integral

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

__all__ = ["FitCall", "LayerSeeds", "fit_rng", "make_optimizer", "train_model"]

OPTIMIZERS = {
    "adagrad": keras.optimizers.Adagrad,
    "adam": keras.optimizers.Adam,
    "ftrl": keras.optimizers.Ftrl,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}

# Rows per prediction batch; every batch is padded to it (see
# predict_in_full_batches). Large enough to amortise Keras' per-batch cost,
# small enough that padding a few rows costs little.
PREDICT_BATCH_SIZE = 64

# Training steps a fit needs before it runs whole epochs per TensorFlow call
# (see _steps_per_call): tracing the loop of steps costs about 0.2 s more than
# tracing one step, which a short fit does not win back.
WHOLE_EPOCH_MIN_STEPS = 100

# Seeds handed to Keras and TensorFlow lie in 1 .. 2**31 - 2 (positive int32).
_MAX_SEED = 2**31 - 1

# Held while a network whose layers draw Keras' default seeds is built.
_DEFAULT_SEEDS_LOCK = threading.Lock()


def fit_rng(random_state, initial_epoch=0):
    """The generator of all random choices of one fit.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        The estimator's ``random_state``. An int gives the same generator
        every time; a RandomState gives one seed drawn from it (as
        scikit-learn does); None a generator seeded from fresh OS entropy,
        so no global generator is read.
    initial_epoch : int, default=0
        First epoch of the fit; ``partial_fit`` calls get different streams.

    Returns
    -------
    rng : numpy.random.Generator
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, Integral):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    return np.random.default_rng([seed, initial_epoch])


class LayerSeeds:
    """Seeds for the random layers of one network, drawn in turn from ``rng``.

    Keras layers and initializers built without a seed draw one from
    Python's global ``random``. Network bodies give each random layer one of
    these seeds instead (``kernel_initializer=seeds.kernel()``,
    ``Dropout(rate, seed=seeds())``), so the network depends on nothing but
    ``rng``: it is the same in any thread, whatever else the process draws.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the seeds.
    """

    def __init__(self, rng):
        self._rng = rng

    def __call__(self):
        """The next seed, an int for a ``seed=`` argument."""
        return int(self._rng.integers(1, _MAX_SEED))

    def kernel(self):
        """Keras' default kernel initializer (Glorot uniform), seeded."""
        return keras.initializers.GlorotUniform(seed=self())


@contextlib.contextmanager
def default_keras_seeds(seeds):
    """Keras' default seeds drawn from ``seeds`` inside the block, serialised.

    For networks with layers that take no seed (``keras.applications``
    backbones): such layers draw theirs from Python's global ``random``.
    Inside the block that generator is seeded from ``seeds`` and it is
    restored on exit, under a process-wide lock, so two such blocks never
    overlap and the rest of the process sees ``random`` as it was. A thread
    that draws from ``random`` outside sklship while the block runs would
    shift these seeds; layers seeded through :class:`LayerSeeds` are immune.

    Parameters
    ----------
    seeds : LayerSeeds
        Source of the seed of Python's ``random``.
    """
    seed = seeds()
    with _DEFAULT_SEEDS_LOCK:
        saved = random.getstate()
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(saved)


def shuffled_batches(arrays, batch_size, epochs, seed):
    """``epochs`` passes over ``arrays`` in batches, each pass in its own order.

    The order of pass ``e`` is a stateless TensorFlow shuffle seeded by
    ``(seed, e)``, so it depends on nothing else in the process; Keras' own
    ``shuffle=True`` draws from TensorFlow's global seed. The batches are
    gathered from the arrays as Keras gathers them (arrays are not copied
    per batch), and floats are cast to float32 as Keras casts them.

    Parameters
    ----------
    arrays : tuple of ndarray
        Sample-aligned arrays (inputs, targets and maybe sample weights).
    batch_size : int
        Samples per batch; the last batch of a pass may be smaller.
    epochs : int
        Passes over the data.
    seed : int
        Seed of the shuffles.

    Returns
    -------
    dataset : tf.data.Dataset
        Tuples of batches, for ``model.fit(dataset, steps_per_epoch=...)``.
    steps_per_epoch : int
        Batches per pass.
    """
    arrays = tuple(np.asarray(a, dtype=np.float32) if a.dtype.kind == "f" else a
                   for a in arrays)
    n_samples = len(arrays[0])
    seed = tf.constant(seed, dtype=tf.int64)

    def order(epoch):
        return tf.random.experimental.stateless_shuffle(
            tf.range(n_samples, dtype=tf.int64), seed=tf.stack([seed, epoch]))

    def batches(indices):
        return tf.data.Dataset.from_tensor_slices(indices).batch(batch_size)

    def gather(indices, data):
        return tuple(tf.gather(values, indices) for values in data)

    indices = tf.data.Dataset.range(epochs).map(order).flat_map(batches)
    dataset = tf.data.Dataset.zip(
        (indices, tf.data.Dataset.from_tensors(arrays).repeat())
    ).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    # As Keras: skip the default graph rewrites, whose cost dwarfs small fits.
    # Without autotuning: with it, some fits stalled about 2 s after their last
    # batch (1 or 2 of 3 in a row; none in 5 without it, bench_overhead.py).
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.autotune.enabled = False
    dataset = dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
    return dataset, -(-n_samples // batch_size)


def make_optimizer(optimizer, learning_rate):
    """A fresh optimizer, so no state is shared between fits or clones.

    Parameters
    ----------
    optimizer : str or keras.optimizers.Optimizer
        A key of ``OPTIMIZERS`` or an instance, which is copied.
    learning_rate : float or None
        Learning rate; None keeps the optimizer's own.

    Returns
    -------
    optimizer : keras.optimizers.Optimizer
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = type(optimizer).from_config(optimizer.get_config())
        if learning_rate is not None:
            optimizer.learning_rate = learning_rate
        return optimizer
    kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
    return OPTIMIZERS[optimizer](**kwargs)


def predict_in_full_batches(model, X, batch_size=PREDICT_BATCH_SIZE):
    """The model's outputs for X, batch by batch, each batch padded to one size.

    On the CPU a row's float32 result can depend in the last bits on where
    it sits in a batch (matrix kernels treat a short remainder differently).
    Padding every batch to the same size keeps each prediction independent
    of the other rows, so reordering or subsetting X gives the same numbers.

    Each batch goes through Keras' ``predict_on_batch``: the same traced
    prediction step that ``model.predict`` runs, without the data pipeline and
    callbacks that ``predict`` sets up on every call (about 60 ms, which is
    most of the time of predicting a few chips with a small network). Floats
    are cast to Keras' float type first, as ``predict`` casts them.
    """
    n_samples = len(X)
    padding = -n_samples % batch_size
    if padding or not n_samples:
        X = np.concatenate([X, np.zeros((padding or batch_size,) + X.shape[1:], dtype=X.dtype)])
    if np.issubdtype(X.dtype, np.floating):
        X = X.astype(keras.config.floatx(), copy=False)
    raw = np.concatenate([model.predict_on_batch(X[start:start + batch_size])
                          for start in range(0, len(X), batch_size)])
    return raw[:n_samples]


@contextlib.contextmanager
def _steps_per_call(model, steps):
    """Run ``steps`` training steps per TensorFlow call during a ``fit``.

    A step of these small networks costs Keras as much Python work per call
    as a third of the step itself; a whole epoch per call trains 1.3 times
    faster with the same weights. ``train_model`` does so unless the user
    passed callbacks, which expect every batch, or asked for a progress bar,
    or the fit has fewer than :data:`WHOLE_EPOCH_MIN_STEPS` steps.
    The count (Keras' ``steps_per_execution``) must divide the epoch's
    steps, else Keras runs into the next epoch's batches; training and
    evaluation functions traced with another count are dropped. Prediction
    keeps one step per call, so its numbers do not depend on the last fit.
    """
    if getattr(model, "_sklship_steps_per_call", 1) != steps:
        model.train_function = model.test_function = None
    model._sklship_steps_per_call = model.steps_per_execution = steps
    try:
        yield
    finally:
        model.steps_per_execution = 1


def build_optimizer(model):
    """Create the variables of ``model``'s optimizer before ``fit`` traces a step.

    Keras' TensorFlow trainer otherwise creates them (Adam's moments, for
    one) inside the first trace of the training step, and ``tf.function``
    then traces the step a second time; for a small model that second trace
    is about half the fit. Building first gives the same variables, values
    and training.
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


class CosineEpochDecay(keras.callbacks.Callback):
    """Cosine decay of the learning rate from its initial value to 0, per epoch.

    Epoch ``e`` of ``epochs`` trains at ``initial * (1 + cos(pi * e / epochs)) / 2``;
    epochs past ``epochs`` (``partial_fit``) keep the last rate.

    Parameters
    ----------
    initial : float
        Learning rate of the first epoch.
    epochs : int
        Length of the decay in epochs.
    """

    def __init__(self, initial, epochs):
        super().__init__()
        self.initial = float(initial)
        self.epochs = int(epochs)

    def on_epoch_begin(self, epoch, logs=None):
        progress = min(epoch, self.epochs - 1) / self.epochs
        self.model.optimizer.learning_rate = (
            self.initial * 0.5 * (1.0 + np.cos(np.pi * progress))
        )


def schedule_callbacks(schedule, initial, epochs, monitor, patience):
    """Callbacks for a named learning-rate schedule.

    Parameters
    ----------
    schedule : {"cosine", "plateau"} or None
        "cosine" decays the rate from ``initial`` to 0 over ``epochs``;
        "plateau" divides it by 5 when ``monitor`` has not improved for
        ``max(1, patience // 2)`` epochs; None adds nothing.
    initial : float
        Initial learning rate.
    epochs : int
        Epochs of the fit.
    monitor : str
        Quantity watched by "plateau" ("val_loss" or "loss").
    patience : int
        Early-stopping patience; "plateau" reacts after half of it.

    Returns
    -------
    callbacks : list of keras.callbacks.Callback
    """
    if schedule == "cosine":
        return [CosineEpochDecay(initial, epochs)]
    if schedule == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.2, patience=max(1, patience // 2),
            min_lr=initial * 1e-3,
        )]
    return []


@dataclass(frozen=True)
class FitCall:
    """What one ``fit`` or ``partial_fit`` call asks of an estimator's network.

    Parameters
    ----------
    rng : numpy.random.Generator
        From :func:`fit_rng`: the validation split and the batches' order
        are drawn from it.
    epochs : int
        Epochs to train in this call.
    initial_epoch : int, default=0
        Epochs already trained (``partial_fit`` and warm starts).
    warm_start : bool, default=False
        Keep the training history of earlier calls.
    partial : bool, default=False
        Whether the call comes from ``partial_fit`` (families that train in
        phases run only the first).
    row_data : dict of str to ndarray
        The family's extra sample-aligned fit data (the multi-output
        classifier's ``location``), rows of weight zero left out.
    """

    rng: np.random.Generator
    epochs: int
    initial_epoch: int = 0
    warm_start: bool = False
    partial: bool = False
    row_data: dict = field(default_factory=dict)


def validation_split_indices(n_samples, fraction, rng, stratify=None):
    """Training and validation row indices: a shuffled hold-out of ``fraction``.

    Keras' own ``validation_split`` takes the last rows, which for data
    sorted by label or scene is a biased hold-out.

    Parameters
    ----------
    n_samples : int
        Rows to split.
    fraction : float in (0, 1)
        Share of the rows held out (rounded up).
    rng : numpy.random.Generator
        Draws the split's seed.
    stratify : callable or None, default=None
        ``stratify(n_val)`` gives the labels to stratify by, or None.

    Returns
    -------
    train, val : ndarray of int
    """
    n_val = int(np.ceil(fraction * n_samples))
    if n_val >= n_samples:
        raise ValueError(
            f"validation_split={fraction} leaves no training samples out of {n_samples}."
        )
    return train_test_split(
        np.arange(n_samples), test_size=n_val, random_state=int(rng.integers(_MAX_SEED)),
        stratify=None if stratify is None else stratify(n_val),
    )


def train_model(model, X, y, sample_weight, call, *, batch_size, validation_split=0.0,
                stratify=None, split=None, early_stopping=False, patience=0,
                callbacks=(), schedule=None, verbose=0):
    """Train a compiled Keras model on seeded batches; return its history.

    Parameters
    ----------
    model : keras.Model
        The compiled model.
    X, y, sample_weight : ndarray
        Training data; ``sample_weight`` may be None.
    call : FitCall
        Epochs and generator.
    batch_size : int
        Samples per batch.
    validation_split : float, default=0.0
        Share of the rows held out to monitor (see
        :func:`validation_split_indices`); 0 monitors the training loss.
    stratify : callable or None, default=None
        ``stratify(y, n_val)``: labels to stratify the hold-out by, or None.
    split : (ndarray, ndarray) or None, default=None
        Training and validation indices to use instead of drawing them.
    early_stopping : bool, default=False
        Stop when the monitored loss has not improved for ``patience``
        epochs, keeping the best weights.
    patience : int, default=0
        See ``early_stopping``.
    callbacks : sequence of keras.callbacks.Callback, default=()
        The user's callbacks.
    schedule : callable or None, default=None
        ``schedule(monitor)`` gives learning-rate schedule callbacks.
    verbose : int, default=0
        Keras' verbosity.

    Returns
    -------
    history : dict of str to list of float
        Keras' ``History.history`` of this call.
    """
    every_step = bool(callbacks) or bool(verbose)  # see _steps_per_call
    callbacks = list(callbacks)
    validation_data = None
    if validation_split > 0:
        if split is None:
            split = validation_split_indices(
                len(X), validation_split, call.rng,
                None if stratify is None else (lambda n_val: stratify(y, n_val)))
        train, val = split
        parts = [X, y] + ([] if sample_weight is None else [sample_weight])
        validation_data = tuple(part[val] for part in parts)
        X, y = X[train], y[train]
        sample_weight = None if sample_weight is None else sample_weight[train]
    monitor = "val_loss" if validation_data is not None else "loss"
    if schedule is not None:
        callbacks += schedule(monitor)
    if early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=monitor, patience=patience, restore_best_weights=True,
        ))
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    batches, steps_per_epoch = shuffled_batches(
        arrays, batch_size, call.epochs, seed=int(call.rng.integers(1, _MAX_SEED)))
    whole_epochs = not every_step and call.epochs * steps_per_epoch >= WHOLE_EPOCH_MIN_STEPS
    build_optimizer(model)
    with _steps_per_call(model, steps_per_epoch if whole_epochs else 1):
        history = model.fit(
            batches, steps_per_epoch=steps_per_epoch, shuffle=False,
            epochs=call.initial_epoch + call.epochs, initial_epoch=call.initial_epoch,
            validation_data=validation_data, validation_batch_size=batch_size,
            callbacks=callbacks, verbose=verbose,
        )
    return history.history
