"""Speed against the machine's limit: scanning whole scenes and fitting the model.

Everything is measured in one run, so the ratios hold on a noisy machine:

- the machine's float32 matrix-multiply rate: NumPy ``A @ B`` on 2,048 x
  2,048 matrices, best of 5 (GFLOP/s = 2 n^3 / seconds);
- the scan: a 4,000 x 4,000 scene tiled from the real ``lb_wide.jpg`` port
  (``--scenes DIR``), scanned by the recommended model (``--model FILE``, a
  model saved by ``sklship train``; without it the model is fitted here on the
  ShipsNet chips) at the defaults (test-time augmentation only near
  candidates), with test-time augmentation on every window
  (``candidate_threshold=0``) and with a single pass (no test-time
  augmentation), each the median of ``--repeats`` runs. The work of a pass is
  counted from the fully convolutional network's layers (multiply-adds of
  every convolution at the input's size; 2 FLOP each): the default scan's
  work is one pass over the scene plus the 7 other symmetric passes over
  every candidate box it refined (recorded as it runs), the context around
  the boxes included; ``scan efficiency`` = achieved GFLOP/s / the
  matrix-multiply rate; ``augmentation cost`` = default / single pass;
  detections of the default and the every-window scan are compared, on this
  scene and on the three shared scenes each cropped by 0..7 pixels;
- a 32 MP GeoTIFF (8,000 x 4,000, tiled from ``lb_wide``, written with
  rasterio) scanned at the defaults in a fresh process (``--model`` needed):
  wall time of the scan and the process's peak memory (``VmHWM``);
- the fit: the recommended model on ``--fit-chips`` chips (default: all, as
  loaded) for
  ``--fit-epochs`` epochs, FLOPs = 3 x the forward pass's (forward and
  backward) x chips x epochs; ``fit efficiency`` likewise; ``fit speedup`` =
  the fit of the code at ``--base REV`` (the start of the speed work, a git
  worktree made here, run in a subprocess) / this code's fit, same data, same
  settings, interleaved; likewise against ``--same-model-base REV``, whose
  recommended model already trained with shifts;
- what bounds the fit: one training step of 64 chips timed in-graph
  (forward, backward, augmentation) with TensorFlow's 2 threads and with 1,
  each in a fresh process, against NumPy's matrix multiply on as many
  threads.

Run: python benchmarks/bench_speed.py [--model FILE] [--scenes DIR] [--data DIR]
         [--repeats 3] [--fit-chips N] [--fit-epochs 10] [--base 6a4e9e2]
         [--same-model-base dd942e7] [--quick]

``--quick``: a 600 x 600 synthetic scene (``make_scene``) instead of the tiled
port, cropped by 0 and 1 pixel for the comparison of detections; the model
trained one epoch on 192 ``make_ships`` chips, which also make the fit (this
code only, no base revision, one round) and the step; 256 x 256 matrices.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from _quick import QUICK_CHIPS, add_quick_flag, load_chips

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared"
SIDE = 4000

# Scans a GeoTIFF in a fresh process; prints seconds and peak memory as JSON.
GEOTIFF_SCRIPT = """
import json, re, sys, time
from sklship import load_model
from sklship.scenes import scan_scene
model = load_model(sys.argv[1])
start = time.perf_counter()
result = scan_scene(model, sys.argv[2])
# VmHWM: this process's own peak; ru_maxrss can keep the parent's from before exec.
with open("/proc/self/status") as status:
    peak_kib = int(re.search(r"VmHWM:\\s*(\\d+)", status.read()).group(1))
print(json.dumps({"seconds": time.perf_counter() - start, "ships": result.count,
                  "peak_gib": peak_kib / 2**20}))
"""

# Fits a recommended model in a subprocess and prints its wall time as JSON:
# the same script runs against this code and against --base.
FIT_SCRIPT = """
import json, sys, time
import numpy as np
from sklship import recommended_model
sys.path.insert(0, sys.argv[4])
from _quick import load_chips
data = load_chips(sys.argv[1])
X, y = data.images, data.target  # all chips as loaded, as ``sklship train`` fits them
if int(sys.argv[2]):
    order = np.random.default_rng(0).permutation(len(y))[:int(sys.argv[2])]
    X, y = X[order], y[order]
model = recommended_model(random_state=0).set_params(epochs=int(sys.argv[3]))
start = time.perf_counter()
model.fit(X, y)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

# Times one training step (64 chips, forward and backward) in-graph, and the
# augmentation alone, with TensorFlow's threads as set in the environment;
# prints milliseconds and NumPy's matrix-multiply rate on as many threads.
STEP_SCRIPT = """
import json, sys, time
import numpy as np
import tensorflow as tf
import keras
from sklship import recommended_model
from sklship.estimators.layers import ChipAugmentation
sys.path.insert(0, sys.argv[2])
from _quick import load_chips
from bench_speed import matmul_rate
data = load_chips(sys.argv[1])
order = np.random.default_rng(0).permutation(len(data.target))[:256]
model = recommended_model(random_state=0).set_params(epochs=1).fit(
    data.images[order], data.target[order]).model_
x = tf.constant(data.images[order[:64]])
t = tf.constant(data.target[order[:64], None].astype("float32"))
augmentation = next(l for l in model.layers if isinstance(l, ChipAugmentation))
loss = keras.losses.BinaryCrossentropy()

@tf.function
def step(x, t):
    with tf.GradientTape() as tape:
        value = loss(t, model(x, training=True))
    return tape.gradient(value, model.trainable_variables)

@tf.function
def augment(x):
    return augmentation(tf.cast(x, "float32"), training=True)

def median_ms(f, repeats=40):
    f(x, t)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        [np.asarray(v) for v in tf.nest.flatten(f(x, t))]
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))

print(json.dumps({"step_ms": median_ms(step), "augment_ms": median_ms(lambda x, t: augment(x)),
                  "matmul": matmul_rate(int(sys.argv[3]))}))
"""


def matmul_rate(n=2048, repeats=5):
    """Best float32 matrix-multiply rate of NumPy, in GFLOP/s."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((n, n), dtype=np.float32) for _ in range(2))
    a @ b  # warm-up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(step):
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def tiled_scene(port, side=SIDE):
    """A ``side`` x ``side`` RGB scene tiled from ``port`` (the whole port lb_wide.jpg)."""
    reps = (-(-side // port.shape[0]), -(-side // port.shape[1]), 1)
    return np.ascontiguousarray(np.tile(port, reps)[:side, :side])


def pass_flops(model, window, stride, shape):
    """FLOPs of one pass of the fully convolutional network over a tile ``shape``."""
    import keras

    from sklship.scenes.convolutional import fully_convolutional

    fcn, reason = fully_convolutional(model, window, stride)
    if fcn is None:
        raise SystemExit(f"no shared engine for this model: {reason}")
    convs = [layer for layer in fcn.layers if isinstance(layer, keras.layers.Conv2D)]
    probe = keras.Model(fcn.inputs, [layer.output for layer in convs])
    shapes = probe.compute_output_shape((1, *shape))
    return sum(2 * int(np.prod(out[1:3])) * int(np.prod(layer.kernel.shape))
               for layer, out in zip(convs, shapes, strict=True))


def forward_flops(model):
    """FLOPs of one forward pass of a chip through the Keras model."""
    import keras

    convs = [layer for layer in model.layers
             if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    return sum(2 * int(np.prod(layer.output.shape[1:-1] or (1,)))
               * int(np.prod(layer.kernel.shape)) for layer in convs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--scenes", type=Path, default=SHARED / "data" / "scenes")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "shipsnet")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-chips", type=int, default=0, help="0: all")
    parser.add_argument("--fit-epochs", type=int, default=10)
    parser.add_argument("--base", default="6a4e9e2",
                        help="git revision whose fit is the reference (the issue's start)")
    parser.add_argument("--same-model-base", default="dd942e7",
                        help="git revision with today's recommended model (shifts in "
                             "training), before the training changes")
    add_quick_flag(parser)
    args = parser.parse_args()

    from sklship import load_model, recommended_model
    from sklship.datasets import make_scene
    from sklship.scenes import scan_scene
    from sklship.scenes.defaults import resolve_defaults

    args.matmul_size = 256 if args.quick else 2048
    rate = matmul_rate(args.matmul_size)
    print(f"matrix multiply: NumPy float32 {args.matmul_size} x {args.matmul_size}, best of "
          f"5: {rate:.1f} GFLOP/s")

    if args.quick:
        args.data, args.fit_chips, args.fit_epochs = f"make_ships:{QUICK_CHIPS}", 0, 1
        args.repeats, args.model = 1, None
    if args.model is not None:
        model = load_model(args.model)
        print(f"model: {args.model}")
    else:
        data = load_chips(args.data)
        model = recommended_model(random_state=0)
        if args.quick:
            model.set_params(epochs=1)
        model.fit(data.images, data.target)
        print(f"model: recommended_model(random_state=0) fitted on {len(data.target):,} "
              f"chips from {args.data}")
    if args.quick:
        pictures = {"synthetic": make_scene(600, 600, n_ships=6, random_state=0)[0]}
        scene, crops, where = pictures["synthetic"], range(2), "make_scene (--quick)"
    else:
        pictures = {name: np.asarray(Image.open(args.scenes / name).convert("RGB"))
                    for name in ("lb_3.png", "sfbay_4.png", "lb_wide.jpg")}
        scene, crops = tiled_scene(pictures["lb_wide.jpg"]), range(8)
        where = f"tiled from {args.scenes / 'lb_wide.jpg'}"
    megapixels = scene.shape[0] * scene.shape[1] / 1e6
    print(f"scene: {scene.shape[0]:,} x {scene.shape[1]:,} ({megapixels:.0f} MP) {where}")

    refined = _record_refined_boxes()
    runs = {"default": {}, "every window": {"candidate_threshold": 0.0},
            "single pass": {"test_time_augmentation": False}}
    results, times = {}, {name: [] for name in runs}
    tta = model.test_time_augmentation
    scan_scene(model, scene[:1000, :1000])  # warm-up: builds the network's graph
    for _ in range(args.repeats):
        for name, change in runs.items():
            model.set_params(test_time_augmentation=change.get(
                "test_time_augmentation", tta))
            params = {k: v for k, v in change.items() if k != "test_time_augmentation"}
            refined.clear()
            start = time.perf_counter()
            results[name] = scan_scene(model, scene, **params)
            times[name].append(time.perf_counter() - start)
            if name == "default":
                boxes = list(refined)
    model.set_params(test_time_augmentation=tta)
    seconds = {name: float(np.median(values)) for name, values in times.items()}

    result = results["default"]
    one_pass = pass_flops(model.model_, result.window, result.stride, scene.shape)
    shapes = {}
    for shape in boxes:
        shapes[shape] = shapes.get(shape, 0) + 1
    refine = sum(7 * n * pass_flops(model.model_, result.window, result.stride, (*shape, 3))
                 for shape, n in shapes.items())
    work = {"default": one_pass + refine, "every window": 8 * one_pass,
            "single pass": one_pass}
    print(f"\nscan (stride {result.stride}, engine {result.engine}; FLOPs of one pass "
          f"{one_pass / 1e9:.1f} G, {one_pass / scene.shape[0] / scene.shape[1]:,.0f} "
          "per pixel):")
    for name in runs:
        achieved = work[name] / seconds[name] / 1e9
        print(f"  {name:<13} {seconds[name]:6.2f} s  {seconds[name] / megapixels:.3f} s/MP"
              f"  {achieved:6.1f} GFLOP/s  ({len(results[name].detections)} ships)")
    print(f"  windows given test-time augmentation at the default: "
          f"{100 * result.augmented_fraction:.2f} % in {len(boxes)} boxes (candidate "
          f"threshold {resolve_defaults(model)['candidate_threshold']}); their 7 other "
          f"symmetric passes: {refine / 1e9:.1f} GFLOP ({refine / one_pass:.2f} of a pass)")
    same, close = _compare(results["default"].detections,
                           results["every window"].detections)
    print(f"  default vs every window: same detections {same}, probabilities within "
          f"{close:.1e}")
    same = _scenes_identical(model, pictures, crops)
    print(f"  scenes ({', '.join(pictures)}) cropped by 0..{crops[-1]} px: default vs every "
          f"window identical in {same[0]} of {same[1]} (probabilities within "
          f"{same[2]:.1e})")
    efficiency = work["default"] / seconds["default"] / 1e9 / rate
    print(f"scan efficiency: {efficiency:.2f}")
    print(f"seconds per megapixel: {seconds['default'] / megapixels:.3f}")
    print(f"augmentation cost: {seconds['default'] / seconds['single pass']:.2f}")

    if args.model is not None:
        big = _geotiff_scan(args, scene)
        print(f"\n32 MP GeoTIFF (8,000 x 4,000) at the defaults, fresh process: "
              f"{big['seconds']:.1f} s ({big['ships']} ships), peak memory "
              f"{big['peak_gib']:.2f} GiB")

    chips = args.fit_chips or len(load_chips(args.data).target)
    fit_flops = 3 * forward_flops(model.model_) * chips * args.fit_epochs
    fits = _fits(args)
    now = float(np.median(fits["this"]))
    achieved = fit_flops / now / 1e9
    print(f"\nfit: recommended_model(random_state=0), {chips:,} chips, "
          f"{args.fit_epochs} epochs ({fit_flops / 1e12:.2f} TFLOP), seconds per round "
          f"(in turn):")
    for name, values in fits.items():
        note = {args.base: " (its recommended model trained without shifts)",
                args.same_model_base: " (the same recommended model)"}.get(name, "")
        print(f"  {name:<8} {' '.join(f'{v:5.1f}' for v in values)}{note}")
    print(f"fit GFLOP/s: {achieved:.1f}")
    print(f"fit efficiency: {achieved / rate:.2f}")
    # Ratios round by round: the machine's speed drifts between rounds.
    ratio = {name: float(np.median(np.divide(fits[name], fits["this"])))
             for name in fits if name != "this"}
    if ratio:
        print(f"fit speedup against the same model at {args.same_model_base}: "
              f"{ratio[args.same_model_base]:.2f}")
        print(f"fit speedup: {ratio[args.base]:.2f}")

    step_flops = 3 * forward_flops(model.model_) * 64
    # A quick run checks the step script once (one thread); the figures mean nothing.
    steps = {threads: _step(args, threads) for threads in ((1,) if args.quick else (2, 1))}
    print(f"\none training step, 64 chips ({step_flops / 1e9:.2f} GFLOP), in-graph, fresh "
          "process each:")
    for threads, out in steps.items():
        network = out["step_ms"] - out["augment_ms"]
        print(f"  {threads} thread{'s' * (threads > 1)}: step {out['step_ms']:.1f} ms "
              f"(augmentation {out['augment_ms']:.1f} ms, network {network:.1f} ms = "
              f"{step_flops / network / 1e6:.0f} GFLOP/s, "
              f"{step_flops / network / 1e6 / out['matmul']:.2f} of NumPy's matrix "
              f"multiply on {threads} thread{'s' * (threads > 1)}: {out['matmul']:.0f})")
    if 2 in steps:
        print(f"second thread speeds the step up: "
              f"{steps[1]['step_ms'] / steps[2]['step_ms']:.2f}")


def _record_refined_boxes():
    """A list that receives the pixel shape of every box the shared engine refines."""
    from sklship.scenes.engines import SharedEngine

    shapes, refine = [], SharedEngine.refine

    def recording(engine, probabilities, boxes, read):
        shapes.extend((rows.stop - rows.start, cols.stop - cols.start)
                      for _, _, rows, cols in boxes)
        return refine(engine, probabilities, boxes, read)

    SharedEngine.refine = recording
    return shapes


def _scenes_identical(model, pictures, crops):
    """(identical, scans, largest probability difference): default vs every window."""
    from sklship.scenes import scan_scene

    same, total, worst = 0, 0, 0.0
    for pixels in pictures.values():
        for crop in crops:
            view = pixels[crop:, crop:]
            default, every = (scan_scene(model, view, **params) for params in
                              ({}, {"candidate_threshold": 0.0}))
            equal, close = _compare(default.detections, every.detections)
            same += equal and close <= 1e-5
            total += 1
            worst = max(worst, close)
    return same, total, worst


def _step(args, threads):
    """Milliseconds of a training step and of the augmentation, on ``threads`` threads."""
    count = str(threads)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": count,
           "OMP_NUM_THREADS": count, "OPENBLAS_NUM_THREADS": count}
    out = subprocess.run([sys.executable, "-c", STEP_SCRIPT, str(args.data), str(HERE),
                          str(args.matmul_size)],
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[-1])


def _geotiff_scan(args, scene):
    """Seconds, ships and peak memory of a fresh process scanning a 32 MP GeoTIFF."""
    import rasterio
    from rasterio.transform import from_origin

    pixels = np.tile(scene, (1, 2, 1))[:, :8000]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "port32.tif"
        with rasterio.open(path, "w", driver="GTiff", height=pixels.shape[0],
                           width=pixels.shape[1], count=3, dtype="uint8", tiled=True,
                           crs="EPSG:32611",
                           transform=from_origin(500000, 3700000, 3, 3)) as dataset:
            dataset.write(np.moveaxis(pixels, -1, 0))
        out = subprocess.run([sys.executable, "-c", GEOTIFF_SCRIPT, str(args.model),
                              str(path)], check=True, capture_output=True, text=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return json.loads(out.stdout.splitlines()[-1])


def _compare(a, b):
    """(same rows and cols, largest probability difference) of two detection tables."""
    if len(a) != len(b):
        return False, float("inf")
    a, b = (t.sort_values(["row", "col"]).reset_index(drop=True) for t in (a, b))
    same = bool(np.array_equal(a[["row", "col"]].to_numpy(), b[["row", "col"]].to_numpy()))
    return same, float(np.abs(a["probability"] - b["probability"]).max()) if len(a) else 0.0


def _fits(args):
    """Wall times of the same fit with this code and each base revision, interleaved.

    Quick runs fit this code only, once.
    """
    repo = HERE.parent
    revisions = [] if args.quick else [args.base, args.same_model_base]
    rounds = 1 if args.quick else 5
    with tempfile.TemporaryDirectory() as folder:
        roots = {"this": repo}
        try:
            for revision in revisions:
                roots[revision] = Path(folder) / revision
                subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach",
                                str(roots[revision]), revision],
                               check=True, capture_output=True)
            times = {name: [] for name in roots}
            for _ in range(rounds):
                for name, root in roots.items():
                    out = subprocess.run(
                        [sys.executable, "-c", FIT_SCRIPT, str(args.data),
                         str(args.fit_chips), str(args.fit_epochs), str(HERE)],
                        env={**os.environ, "PYTHONPATH": str(root),
                             "TF_CPP_MIN_LOG_LEVEL": "3"},
                        # ``python -c`` puts the working directory first on
                        # the path: run in the revision's own tree.
                        cwd=root, check=True, capture_output=True, text=True)
                    times[name].append(json.loads(out.stdout.splitlines()[-1])["seconds"])
            return times
        finally:
            for revision in revisions:
                subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force",
                                str(Path(folder) / revision)], check=False,
                               capture_output=True)


if __name__ == "__main__":
    main()
