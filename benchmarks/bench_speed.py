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
  every convolution at the tile's size; 2 FLOP each), plus the symmetric
  passes the engine reports; ``scan efficiency`` = achieved GFLOP/s / the
  matrix-multiply rate; ``augmentation cost`` = default / single pass;
  detections of the default and the every-window scan are compared;
- a 32 MP GeoTIFF (8,000 x 4,000, tiled from ``lb_wide``, written with
  rasterio) scanned at the defaults in a fresh process (``--model`` needed):
  wall time of the scan and the process's peak memory (``ru_maxrss``);
- the fit: the recommended model on ``--fit-chips`` chips for ``--fit-epochs``
  epochs, FLOPs = 3 x the forward pass's (forward and backward) x chips x
  epochs; ``fit efficiency`` likewise; ``fit speedup`` = the fit of the code at
  ``--base REV`` (a git worktree made here, run in a subprocess) / this code's
  fit, same data, same settings, interleaved.

Run: python benchmarks/bench_speed.py [--model FILE] [--scenes DIR] [--data DIR]
         [--repeats 3] [--fit-chips 1024] [--fit-epochs 3] [--base 6a4e9e2]
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

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared"
SIDE = 4000

# Scans a GeoTIFF in a fresh process; prints seconds and peak memory as JSON.
GEOTIFF_SCRIPT = """
import json, resource, sys, time
from sklship import load_model
from sklship.scenes import scan_scene
model = load_model(sys.argv[1])
start = time.perf_counter()
result = scan_scene(model, sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - start, "ships": result.count,
                  "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""

# Fits a recommended model in a subprocess and prints its wall time as JSON:
# the same script runs against this code and against --base.
FIT_SCRIPT = """
import json, sys, time
import numpy as np
from sklship import load_shipsnet, recommended_model
data = load_shipsnet(sys.argv[1])
order = np.random.default_rng(0).permutation(len(data.target))[:int(sys.argv[2])]
model = recommended_model(random_state=0).set_params(epochs=int(sys.argv[3]))
start = time.perf_counter()
model.fit(data.images[order], data.target[order])
print(json.dumps({"seconds": time.perf_counter() - start}))
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


def tiled_scene(scenes):
    """A SIDE x SIDE RGB scene tiled from the whole port lb_wide.jpg."""
    port = np.asarray(Image.open(scenes / "lb_wide.jpg").convert("RGB"))
    reps = (-(-SIDE // port.shape[0]), -(-SIDE // port.shape[1]), 1)
    return np.ascontiguousarray(np.tile(port, reps)[:SIDE, :SIDE])


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
    parser.add_argument("--fit-chips", type=int, default=1024)
    parser.add_argument("--fit-epochs", type=int, default=3)
    parser.add_argument("--base", default="6a4e9e2",
                        help="git revision whose fit is the reference")
    args = parser.parse_args()

    from sklship import load_model, load_shipsnet, recommended_model
    from sklship.scenes import scan_scene

    rate = matmul_rate()
    print(f"matrix multiply: NumPy float32 2048 x 2048, best of 5: {rate:.1f} GFLOP/s")

    if args.model is not None:
        model = load_model(args.model)
        print(f"model: {args.model}")
    else:
        data = load_shipsnet(args.data)
        model = recommended_model(random_state=0).fit(data.images, data.target)
        print(f"model: recommended_model(random_state=0) fitted on {len(data.target):,} "
              "ShipsNet chips")
    scene = tiled_scene(args.scenes)
    megapixels = scene.shape[0] * scene.shape[1] / 1e6
    print(f"scene: {SIDE:,} x {SIDE:,} ({megapixels:.0f} MP) tiled from "
          f"{args.scenes / 'lb_wide.jpg'}")

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
            start = time.perf_counter()
            results[name] = scan_scene(model, scene, **params)
            times[name].append(time.perf_counter() - start)
    model.set_params(test_time_augmentation=tta)
    seconds = {name: float(np.median(values)) for name, values in times.items()}

    result = results["default"]
    one_pass = pass_flops(model.model_, result.window, result.stride, scene.shape)
    work = {"default": one_pass * (1 + 8 * result.augmented_fraction),
            "every window": 8 * one_pass, "single pass": one_pass}
    print(f"\nscan (stride {result.stride}, engine {result.engine}; FLOPs of one pass "
          f"{one_pass / 1e9:.1f} G, {one_pass / scene.shape[0] / scene.shape[1]:,.0f} "
          "per pixel):")
    for name in runs:
        achieved = work[name] / seconds[name] / 1e9
        print(f"  {name:<13} {seconds[name]:6.2f} s  {seconds[name] / megapixels:.3f} s/MP"
              f"  {achieved:6.1f} GFLOP/s  ({len(results[name].detections)} ships)")
    print(f"  windows given test-time augmentation at the default: "
          f"{100 * result.augmented_fraction:.2f} %")
    same, close = _compare(results["default"].detections,
                           results["every window"].detections)
    print(f"  default vs every window: same detections {same}, probabilities within "
          f"{close:.1e}")
    efficiency = work["default"] / seconds["default"] / 1e9 / rate
    print(f"scan efficiency: {efficiency:.2f}")
    print(f"seconds per megapixel: {seconds['default'] / megapixels:.3f}")
    print(f"augmentation cost: {seconds['default'] / seconds['single pass']:.2f}")

    if args.model is not None:
        big = _geotiff_scan(args, scene)
        print(f"\n32 MP GeoTIFF (8,000 x 4,000) at the defaults, fresh process: "
              f"{big['seconds']:.1f} s ({big['ships']} ships), peak memory "
              f"{big['peak_gib']:.2f} GiB")

    fit_flops = 3 * forward_flops(model.model_) * args.fit_chips * args.fit_epochs
    fits = _fits(args)
    now, base = float(np.median(fits["this"])), float(np.median(fits["base"]))
    achieved = fit_flops / now / 1e9
    print(f"\nfit: recommended_model(random_state=0), {args.fit_chips:,} chips, "
          f"{args.fit_epochs} epochs ({fit_flops / 1e12:.2f} TFLOP); this code "
          f"{now:.1f} s, {args.base} {base:.1f} s (medians of {len(fits['this'])})")
    print(f"fit GFLOP/s: {achieved:.1f}")
    print(f"fit efficiency: {achieved / rate:.2f}")
    print(f"fit speedup: {base / now:.2f}")


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


def _fits(args, rounds=2):
    """Wall times of the same fit with this code and with --base, interleaved."""
    repo = HERE.parent
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(base),
                        args.base], check=True, capture_output=True)
        try:
            times = {"this": [], "base": []}
            for _ in range(rounds):
                for name, root in (("this", repo), ("base", base)):
                    out = subprocess.run(
                        [sys.executable, "-c", FIT_SCRIPT, str(args.data),
                         str(args.fit_chips), str(args.fit_epochs)],
                        env={**os.environ, "PYTHONPATH": str(root),
                             "TF_CPP_MIN_LOG_LEVEL": "3"},
                        check=True, capture_output=True, text=True)
                    times[name].append(json.loads(out.stdout.splitlines()[-1])["seconds"])
            return times
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force",
                            str(base)], check=False, capture_output=True)


if __name__ == "__main__":
    main()
