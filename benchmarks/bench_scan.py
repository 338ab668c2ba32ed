"""Scanning a 3,000 x 3,000 scene at stride 10 with the book CNN: three ways.

1. naive: one call per window (``model_.predict`` and ``predict_proba``),
   timed on a random sample of windows and extrapolated to the 85,849
   windows of the scene (it would take hours); the faster of the two is the
   reference of the speedup;
2. batched engine: strided windows viewed without copies, ``predict_proba``
   on batches;
3. shared engine: the convolutions run once over each tile, the head as a
   strided convolution.

The network is the book CNN on 80x80 chips, trained briefly (3 epochs on
1,000 ``make_ships`` chips) so that the detections mean something; timing does
not depend on the weights. The scene is ``make_scene(3000, 3000)`` with 80
ships and 40 distractors. Each engine is warmed up on a 400 x 400 crop first
(graph tracing, model conversion), then timed on the whole scene.

Prints ``scan: S s`` (fastest engine, whole scene), ``max abs diff: D``
(largest probability difference between the engines, and against the naive
windows), peak memory, and last ``speedup: X`` (naive / fastest).

Run: python benchmarks/bench_scan.py [--sample 40] [--quick]

``--quick``: a 400 x 400 scene with 4 ships, the network trained one epoch
on 192 chips, 4 windows timed one by one.
"""

import argparse
import resource
import time
import tracemalloc

import numpy as np

from sklship import CNNShipClassifier, make_ships
from sklship.datasets import make_scene
from sklship.scenes.scan import scan_scene

from _quick import QUICK_CHIPS, add_quick_flag

SIZE, STRIDE, WINDOW = 3000, 10, 80


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=40,
                        help="windows timed one by one for the naive estimate")
    add_quick_flag(parser)
    args = parser.parse_args()
    size, n_chips, epochs, n_ships = SIZE, 1000, 3, 80
    if args.quick:
        size, n_chips, epochs, n_ships, args.sample = 400, QUICK_CHIPS, 1, 4, 4

    start = time.perf_counter()
    X, y = make_ships(n_chips, random_state=0, return_X_y=True)
    cnn = CNNShipClassifier(epochs=epochs, random_state=0).fit(X, y)
    print(f"setup: book CNN ({cnn.model_.count_params():,} parameters) trained {epochs} "
          f"epochs on {n_chips:,} 80x80 make_ships chips in "
          f"{time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    scene, ships = make_scene(size, size, n_ships=n_ships, n_distractors=n_ships // 2,
                              random_state=0)
    n_side = (size - WINDOW) // STRIDE + 1
    n_windows = n_side**2
    print(f"scene: {size}x{size} pixels, {len(ships)} ships, stride {STRIDE}: "
          f"{n_windows:,} windows (drawn in {time.perf_counter() - start:.1f} s)")

    # 1. naive: one call per window, on a sample, extrapolated. Two ways:
    # Keras' model_.predict (the reference for the speedup; cheaper) and the
    # estimator's predict_proba (which pads every call to a 256-row batch).
    rng = np.random.default_rng(0)
    sample = rng.integers(n_side, size=(args.sample, 2))
    crops = [scene[None, i * STRIDE:i * STRIDE + WINDOW, j * STRIDE:j * STRIDE + WINDOW]
             for i, j in sample]
    naive_ways = {
        "model_.predict": lambda x: cnn.model_.predict(x, verbose=0)[0, 0],
        "predict_proba": lambda x: cnn.predict_proba(x)[0, 1],
    }
    per_window = {}
    for name, predict in naive_ways.items():
        predict(crops[0])  # warm-up
        start = time.perf_counter()
        naive = np.array([predict(x) for x in crops])
        per_window[name] = (time.perf_counter() - start) / args.sample
        print(f"naive ({name}): {per_window[name] * 1e3:7.2f} ms a window -> "
              f"{per_window[name] * n_windows:8.1f} s for the scene (EXTRAPOLATED from "
              f"{args.sample} windows timed one call each)")
    naive_seconds = min(per_window.values()) * n_windows

    # 2. and 3. the engines, each warmed up on a crop, then the whole scene.
    results = {}
    for engine in ("batched", "shared"):
        start = time.perf_counter()
        scan_scene(cnn, scene[:400, :400], stride=STRIDE, engine=engine)
        warm_up = time.perf_counter() - start
        start = time.perf_counter()
        results[engine] = scan_scene(cnn, scene, stride=STRIDE, engine=engine)
        seconds = time.perf_counter() - start
        print(f"{engine + ':':8s} {seconds / n_windows * 1e3:8.4f} ms a window -> "
              f"{seconds:8.2f} s for the scene (measured; warm-up {warm_up:.2f} s), "
              f"{results[engine].count} ships detected")
    seconds = {engine: result.seconds for engine, result in results.items()}
    fastest = min(seconds, key=seconds.get)

    grids = {engine: result.probabilities for engine, result in results.items()}
    diff_engines = np.abs(grids["shared"] - grids["batched"]).max()
    diff_naive = max(np.abs(grids[e][sample[:, 0], sample[:, 1]] - naive).max()
                     for e in grids)

    found = _found(results[fastest].detections, ships)
    print(f"detections ({fastest}): {results[fastest].count} for {len(ships)} true "
          f"ships, {found} of them found within {WINDOW // 2} pixels")

    # Peak memory: numpy/Python allocations of one more shared scan, and the
    # whole process' peak resident set (TensorFlow's buffers included).
    tracemalloc.start()
    scan_scene(cnn, scene, stride=STRIDE, engine=fastest)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB

    print(f"scan: {seconds[fastest]:.2f} s ({fastest} engine, whole scene)")
    print(f"max abs diff: {max(diff_engines, diff_naive):.2e} (shared vs batched over "
          f"all windows {diff_engines:.2e}; engines vs naive on the sample "
          f"{diff_naive:.2e})")
    print(f"peak memory: {traced_peak / 2**20:.0f} MiB traced by tracemalloc during a "
          f"{fastest} scan (scene itself {scene.nbytes / 2**20:.0f} MiB); process peak "
          f"RSS {rss_peak:.0f} MiB (TensorFlow included)")
    print(f"speedup: {naive_seconds / seconds[fastest]:.0f} (fastest naive / {fastest}; "
          f"naive / batched: {naive_seconds / seconds['batched']:.0f})")


def _found(detections, ships):
    """Ships with a detection within half a window."""
    d = np.hypot(detections["row"].to_numpy()[:, None] - ships["row"].to_numpy(),
                 detections["col"].to_numpy()[:, None] - ships["col"].to_numpy())
    return int((d <= WINDOW / 2).any(axis=0).sum()) if len(d) else 0


if __name__ == "__main__":
    main()
