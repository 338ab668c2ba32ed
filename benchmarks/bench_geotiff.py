"""Scanning GeoTIFF scenes: overhead against arrays, memory, and Dask against one process.

1. overhead: the same 3,000 x 3,000 pixels scanned as an in-memory array and
   as a tiled GeoTIFF (EPSG:32611, 3 m), read window by window through
   rasterio, interleaved 3 times; ``geotiff overhead: X`` is the ratio of
   the medians (goal <= 1.2), printed last of the run, as the headline.
2. memory: a 10,000 x 10,000 pixel GeoTIFF (300 MB of pixels, written tile by
   tile and never held whole) scanned in a fresh subprocess; its peak
   resident set (``RUSAGE_CHILDREN.ru_maxrss``, TensorFlow included) against
   the same subprocess that only loads the model (goal < 1.5 GB).
3. Dask: 16 scenes of 1,000 x 1,000 pixels scanned by ``scan_scenes`` in
   this process and on a 2-worker ``LocalCluster`` (one thread each; the
   cluster's start-up is timed apart); the tables must be equal.
4. resampled read: a 3,000 x 3,000 GeoTIFF at 5 m scanned by a 3 m model
   (windows resampled as they are read, rasterio ``out_shape``, bilinear:
   a 5,000 x 5,000 grid) against the same scene resampled to 3 m in memory
   first (the same rasterio bilinear read, whole) and scanned as an array,
   interleaved 2 times; ``resampled read: X`` is the ratio of the medians
   (goal <= 1.3).

The network is the book CNN on 80x80 chips trained 3 epochs on 1,000
``make_ships`` chips; stride 10, shared engine.

Run: nice -n 19 python benchmarks/bench_geotiff.py [--big 10000] [--sections 1,2,3,4]
         [--quick]

``--quick``: scenes of 400 x 400 (the big one 600 x 600), 2 of them on a
one-worker cluster, the network trained one epoch on 192 chips, one run of each.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _quick import QUICK_CHIPS, add_quick_flag

STRIDE = 10
_CHILD = """
import resource, sys, time
from sklship.estimators.persistence import load_model
from sklship.scenes.scan import scan_scene
model = load_model(sys.argv[1])
count, seconds = 0, 0.0
if sys.argv[2] != "-":
    start = time.perf_counter()
    count = scan_scene(model, sys.argv[2], stride={stride}).count
    seconds = time.perf_counter() - start
print(count, f"{{seconds:.1f}}", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_geotiff(path, height, width, *, block=1000, random_state=0, res=3):
    """A tiled 8-bit RGB GeoTIFF of make_scene blocks, written block by block."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from sklship.datasets import make_scene

    profile = {"driver": "GTiff", "height": height, "width": width, "count": 3,
               "dtype": "uint8", "crs": "EPSG:32611", "tiled": True, "blockxsize": 256,
               "blockysize": 256, "transform": from_origin(400000, 3740000, res, res)}
    with rasterio.open(path, "w", **profile) as dataset:
        for top in range(0, height, block):
            for left in range(0, width, block):
                h, w = min(block, height - top), min(block, width - left)
                pixels, _ = make_scene(h, w, n_ships=max(1, h * w // 125_000),
                                       random_state=random_state + top + left)
                dataset.write(np.moveaxis(pixels, -1, 0), window=Window(left, top, w, h))
        dataset.update_tags(TIFFTAG_DATETIME="2017:07:05 18:08:18")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=10_000, help="side of the big scene")
    parser.add_argument("--sections", default="1,2,3,4",
                        help="sections to run, e.g. 4 (default: %(default)s)")
    add_quick_flag(parser)
    args = parser.parse_args()
    sections = {int(part) for part in args.sections.split(",")}

    from sklship import CNNShipClassifier, make_ships
    from sklship.estimators.persistence import save_model

    print(f"load: {os.getloadavg()[0]:.2f} (1-minute load average at start, "
          f"{os.cpu_count()} CPU cores)")
    tmp = Path(tempfile.mkdtemp(prefix="bench_geotiff_"))
    start = time.perf_counter()
    n_chips, epochs = (QUICK_CHIPS, 1) if args.quick else (1000, 3)
    X, y = make_ships(n_chips, random_state=0, return_X_y=True)
    cnn = CNNShipClassifier(epochs=epochs, random_state=0).fit(X, y)
    save_model(cnn, tmp / "cnn.sklship")
    print(f"setup: book CNN trained {epochs} epochs on {n_chips:,} 80x80 make_ships chips "
          f"in {time.perf_counter() - start:.1f} s")

    side, runs = (400, 1) if args.quick else (3000, 0)
    headline = None
    if 4 in sections:
        resampled_read(cnn, tmp, side, runs or 2)
    if 1 in sections:
        headline = overhead(cnn, tmp, side, runs or 3)
    if 2 in sections:
        memory(600 if args.quick else args.big, tmp, baseline=not args.quick)
    if 3 in sections:
        dask_scans(cnn, tmp, *((2, 300, 1) if args.quick else (16, 1000, 2)))
    if headline is not None:
        print(headline)


def resampled_read(cnn, tmp, side=3000, runs=2):
    """4. A 5 m scene scanned by a 3 m model: resampled as read, or in memory first."""
    import rasterio
    from rasterio.enums import Resampling

    from sklship.scenes.scan import scan_scene

    write_geotiff(tmp / "five.tif", side, side, res=5)
    grid = round(side * 5 / 3)
    scan_scene(cnn, np.zeros((400, 400, 3), np.uint8), stride=STRIDE)  # warm-up
    times, counts = {"in memory": [], "as read": []}, {}
    for _ in range(runs):
        start = time.perf_counter()
        with rasterio.open(tmp / "five.tif") as dataset:
            array = np.moveaxis(dataset.read(out_shape=(3, grid, grid),
                                             resampling=Resampling.bilinear), 0, -1)
        counts["in memory"] = scan_scene(cnn, array, stride=STRIDE).count
        times["in memory"].append(time.perf_counter() - start)
        del array
        start = time.perf_counter()
        result = scan_scene(cnn, tmp / "five.tif", stride=STRIDE)
        counts["as read"] = result.count
        times["as read"].append(time.perf_counter() - start)
    medians = {kind: float(np.median(runs)) for kind, runs in times.items()}
    print(f"{side}x{side} scene at 5 m scanned at 3 m (pixel scale "
          f"{result.pixel_scale:.2f}, {grid}x{grid} grid), stride {STRIDE}, {runs} "
          f"interleaved runs each: resampled in memory "
          f"first {medians['in memory']:.2f} s (read included), resampled as read "
          f"{medians['as read']:.2f} s (median; {counts['in memory']} and "
          f"{counts['as read']} ships)")
    print(f"resampled read: {medians['as read'] / medians['in memory']:.2f}")


def overhead(cnn, tmp, side=3000, runs=3):
    """1. The same scene as an array and as a GeoTIFF.

    Returns the headline, ``geotiff overhead: X``, printed last of the run.
    """
    from sklship.scenes.scan import read_scene, scan_scene

    write_geotiff(tmp / "medium.tif", side, side)
    array = read_scene(tmp / "medium.tif")
    scan_scene(cnn, array[:400, :400], stride=STRIDE)  # warm-up: conversion, tracing
    times, counts = {"array": [], "geotiff": []}, {}
    for _ in range(runs):
        for kind, scene in (("array", array), ("geotiff", tmp / "medium.tif")):
            start = time.perf_counter()
            counts[kind] = scan_scene(cnn, scene, stride=STRIDE).count
            times[kind].append(time.perf_counter() - start)
    medians = {kind: float(np.median(runs)) for kind, runs in times.items()}
    print(f"{side}x{side} scene, stride {STRIDE}, shared engine, {runs} interleaved runs each: "
          f"array {medians['array']:.2f} s, GeoTIFF {medians['geotiff']:.2f} s "
          f"(median; {counts['array']} and {counts['geotiff']} ships)")
    return f"geotiff overhead: {medians['geotiff'] / medians['array']:.2f}"


def memory(big, tmp, baseline=True):
    """2. Peak memory scanning a big GeoTIFF in a subprocess.

    ``baseline``: also measure a process that only loads the model.
    """
    args = argparse.Namespace(big=big)
    start = time.perf_counter()
    write_geotiff(tmp / "big.tif", args.big, args.big)
    size = (tmp / "big.tif").stat().st_size
    print(f"big scene: {args.big}x{args.big} pixels, {size / 2**20:.0f} MiB file, "
          f"written in {time.perf_counter() - start:.0f} s")
    peaks = {"model only": float("nan")}
    # The scan first: RUSAGE_CHILDREN then holds its peak alone; each child also
    # reports its own peak (RUSAGE_SELF).
    runs = [("scan", str(tmp / "big.tif"))] + [("model only", "-")] * baseline
    for what, scene in runs:
        done = subprocess.run([sys.executable, "-c", _CHILD.format(stride=STRIDE),
                               str(tmp / "cnn.sklship"), scene], capture_output=True,
                              text=True, check=True,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        count, seconds, own = done.stdout.split()
        peaks[what] = int(own) / 2**20  # KiB -> GiB
        if what == "scan":
            children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
            print(f"  scan of the big scene: {count} ships in {seconds} s; peak RSS "
                  f"{children:.2f} GiB (RUSAGE_CHILDREN after it)")
    print(f"peak memory: {peaks['scan']:.2f} GiB scanning the {args.big}x{args.big} "
          f"GeoTIFF (process peak RSS; loading the model alone: "
          f"{peaks['model only']:.2f} GiB; goal < 1.5 GB)")


def dask_scans(cnn, tmp, n_scenes=16, side=1000, workers=2):
    """3. ``n_scenes`` scenes in one process and on a LocalCluster of ``workers``."""
    from sklship.scenes.survey import ScanSettings, scan_scenes

    paths = []
    for k in range(n_scenes):
        paths.append(tmp / f"2017{7 + k // 8:02d}{1 + k % 8:02d}_180818_{k:04x}.tif")
        write_geotiff(paths[-1], side, side, random_state=100 * k)
    start = time.perf_counter()
    local = scan_scenes(cnn, paths, settings=ScanSettings(stride=STRIDE))
    one = time.perf_counter() - start
    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        started = time.perf_counter() - start
        runs = []
        for _ in range(2):  # the first run loads TensorFlow and the model on workers
            start = time.perf_counter()
            remote = scan_scenes(cnn, paths, settings=ScanSettings(stride=STRIDE),
                                 client=client)
            runs.append(time.perf_counter() - start)
    same = all(a.equals(b) for a, b in zip(local, remote, strict=True))
    print(f"{n_scenes} scenes of {side}x{side}: one process {one:.1f} s (model warm), "
          f"{workers}-worker LocalCluster {runs[0]:.1f} s first run (workers import "
          f"TensorFlow, get the model), {runs[1]:.1f} s second run (+ {started:.1f} s "
          f"cluster start); same tables: {same}")
    print(f"dask speedup: {one / runs[1]:.2f} (one process / {workers} workers, warm; "
          f"{one / runs[0]:.2f} first run)")


if __name__ == "__main__":
    main()
