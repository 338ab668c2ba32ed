"""Training through the sklship estimator versus raw Keras ``model.fit``.

The same Keras model (the book CNN: Conv2D 8 -> Conv2D 4 -> Flatten ->
Dense 1, 23,621 parameters), the same data (the real ShipsNet chips as uint8,
or ``make_ships`` chips when the copy is absent), the same epochs and batch
size, trained two ways, alternating, several rounds:

- raw: ``keras.models.clone_model`` of the estimator's network, compiled with
  Adam and binary cross-entropy, ``model.fit(X, y, batch_size, epochs)``;
  the time covers cloning, compiling and fitting;
- estimator: ``CNNShipClassifier(epochs, batch_size, random_state=0).fit(X, y)``;
  the time covers everything the estimator adds (parameter and input
  validation, label encoding, seeding, building and compiling the network).

Prints every round (wall and process CPU time), the medians and minima,
peak memory, and last ``overhead: X.XX`` (median estimator wall time /
median raw wall time). On a shared machine wall times swing with the load;
the alternation spreads that over both. As a load-independent check it also
times the training loop inside ``model.fit`` (a callback in both) and
reports what each spends outside it: that is all the estimator can add.
With that callback the estimator runs one batch per TensorFlow call, as raw
Keras does; without callbacks it runs an epoch per call (``bench_speed.py``
measures that path).

Run: python benchmarks/bench_overhead.py [--data PATH] [--rounds 3] [--epochs 3] [--quick]

``--quick``: 192 ``make_ships`` chips, one round of one epoch.
"""

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np

from sklship import CNNShipClassifier, load_shipsnet, make_ships

from _quick import add_quick_flag, quick_chips

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "shipsnet"


class FitTimer(keras.callbacks.Callback):
    """Wall time from the start to the end of training inside ``model.fit``."""

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start


def raw_fit(template, X, y, epochs, batch_size, callbacks=()):
    model = keras.models.clone_model(template)
    model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
    model.fit(X, y, batch_size=batch_size, epochs=epochs, verbose=0,
              callbacks=list(callbacks))
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="ShipsNet folder, zip or shipsnet.json (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (default: 3)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (default: 3)")
    parser.add_argument("--batch-size", type=int, default=32)
    add_quick_flag(parser)
    args = parser.parse_args()

    if args.quick:
        chips = quick_chips()
        X, y = chips.images, chips.target
        source, args.rounds, args.epochs = "make_ships (--quick)", 1, 1
    elif Path(args.data).exists():
        X, y = load_shipsnet(args.data, return_X_y=True)
        source = f"ShipsNet {args.data}"
    else:
        X, y = make_ships(3200, random_state=0, return_X_y=True)
        source = f"make_ships(3200) ({args.data} not found)"
    y_float = y.astype("float32").reshape(-1, 1)  # as the estimator encodes y
    print(f"data: {source}: {len(y):,} chips {X.shape[1:]} {X.dtype}")

    def estimator(callbacks=None):
        return CNNShipClassifier(epochs=args.epochs, batch_size=args.batch_size,
                                 callbacks=callbacks, random_state=0)

    # Warm-up: the first fit of a process pays TensorFlow's one-time set-up;
    # it also gives the network that the raw runs clone.
    warm = np.r_[np.flatnonzero(y == 0)[:192], np.flatnonzero(y == 1)[:64]]
    template = estimator().fit(X[warm], y[warm]).model_
    raw_fit(template, X[warm], y_float[warm], 1, args.batch_size)
    print(f"model: book CNN, {template.count_params():,} parameters; "
          f"{args.epochs} epochs, batch size {args.batch_size}, Adam, "
          f"{args.rounds} rounds alternating raw / estimator\n")

    times = {"raw": [], "estimator": []}
    cpu = {"raw": [], "estimator": []}
    outside = {"raw": [], "estimator": []}  # time spent outside the training loop
    for round_ in range(args.rounds):
        order = ("raw", "estimator") if round_ % 2 == 0 else ("estimator", "raw")
        for kind in order:
            keras.utils.set_random_seed(round_)
            tic, cpu_tic = time.perf_counter(), time.process_time()
            timer = FitTimer()
            if kind == "raw":
                raw_fit(template, X, y_float, args.epochs, args.batch_size, [timer])
            else:
                fitted = estimator([timer]).fit(X, y)
                timer = next(c for c in fitted._fit_callbacks if isinstance(c, FitTimer))
            times[kind].append(time.perf_counter() - tic)
            outside[kind].append(times[kind][-1] - timer.seconds)
            cpu[kind].append(time.process_time() - cpu_tic)
        print(f"round {round_}: raw {times['raw'][-1]:.2f} s (CPU {cpu['raw'][-1]:.1f} s), "
              f"estimator {times['estimator'][-1]:.2f} s "
              f"(CPU {cpu['estimator'][-1]:.1f} s)", flush=True)

    raw, est = statistics.median(times["raw"]), statistics.median(times["estimator"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    print(f"\nmedian raw model.fit: {raw:.2f} s (min {min(times['raw']):.2f} s, "
          f"median CPU {statistics.median(cpu['raw']):.1f} s)")
    print(f"median estimator fit: {est:.2f} s (min {min(times['estimator']):.2f} s, "
          f"median CPU {statistics.median(cpu['estimator']):.1f} s)")
    out_raw, out_est = (statistics.median(outside[k]) for k in ("raw", "estimator"))
    print(f"outside the training loop (building, compiling, validation, encoding): "
          f"raw {out_raw:.2f} s, estimator {out_est:.2f} s (medians); the training "
          f"loop itself is Keras' in both")
    print(f"load-independent estimate: (raw + estimator's extra outside time) / raw "
          f"= {(raw + out_est - out_raw) / raw:.3f}")
    paired = statistics.median(e / r for e, r in zip(times["estimator"], times["raw"], strict=True))
    print(f"median of the per-round ratios (estimator / raw of the same round): "
          f"{paired:.2f}")
    print(f"min ratio: {min(times['estimator']) / min(times['raw']):.2f}; CPU-time ratio: "
          f"{statistics.median(cpu['estimator']) / statistics.median(cpu['raw']):.2f} "
          "(wall times swing with other processes on a shared machine)")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")
    print(f"overhead: {est / raw:.2f}")


if __name__ == "__main__":
    main()
