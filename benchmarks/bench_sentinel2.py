"""Sentinel-2 at 10 m: the shipped model's protocol over 8 ports, and a full tile's scan.

Ports: leave one port out over the 8 shared sen2ships ports
(``../shared/data/sentinel2``), with the bands, configuration and threshold
of the shipped model (``sklship/shipped/sentinel2_10m.json``; with ShipsNet's
chips from ``--shipsnet DIR`` where it adds them) and the protocol of
``scripts/train_sentinel2.py`` (chips at 10 m, a fit, hard negatives mined on
the 7 training ports, a second fit, the held-out port scanned, taken at the
shipped threshold with ``ScanResult.at_threshold``). A detection
within 12 pixels at 10 m of a marked big vessel (>= 12 px) is a hit; near a
small one it counts neither way. Vessels at berth are those whose box lies
within 3 px of land (NDWI = (green - nir) / (green + nir) < 0, outside every
vessel's mask in the port's COCO file), the data README's rule; the others
are at anchor.

Tile: a synthetic full Sentinel-2 tile (10,980 x 10,980 px, 4 bands, uint16
reflectance x 10000, UTM at 10 m, band scales 1e-4 in the file) written to a
temporary folder and scanned from the file with the shipped model and its
scan settings; wall time and the process's peak resident memory.

Prints ``sentinel-2 tile: S s`` and the tile process's peak memory, then one
line per port, ``recall at berth``, ``recall at anchor`` and, last, the
headline ``sentinel-2 ports: found A/B (recall R), false alarms F (f per
scene)``.

Run: python benchmarks/bench_sentinel2.py [--data DIR] [--shipsnet DIR] [--oof FILE]
[--quick]
``--oof`` reads the out-of-fold scans that ``scripts/train_sentinel2.py --oof
FILE`` wrote instead of fitting again;
``--quick`` holds out one port, fits 1 epoch without mining and scans a
1,098 px tile: a smoke run of every step, its numbers meaningless.
"""

import argparse
import importlib.util
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _quick import add_quick_flag

ROOT = Path(__file__).resolve().parents[1]
SIDECAR = ROOT / "sklship" / "shipped" / "sentinel2_10m.json"
TILE = 10980
LAND_MARGIN = 3
#: Smallest land area in pixels (smaller NDWI < 0 specks are hull edges or wakes).
MIN_LAND = 50


def training_script():
    """``scripts/train_sentinel2.py`` as a module."""
    path = ROOT / "scripts" / "train_sentinel2.py"
    spec = importlib.util.spec_from_file_location("train_sentinel2", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def vessel_masks(coco_path):
    """Each COCO annotation's bbox centre (col, row) and pixel mask (uncompressed RLE)."""
    from sentinel2_paste import outline  # beside the training script, on its path

    coco = json.loads(Path(coco_path).read_text())
    centres, masks = [], []
    for annotation in coco["annotations"]:
        masks.append(outline(annotation["segmentation"]))
        x, y, w, h = annotation["bbox"]
        centres.append((x + w / 2, y + h / 2))
    return np.array(centres), masks


def at_berth(path, coco_path, big):
    """Whether each big mark's vessel mask lies within LAND_MARGIN px of land."""
    import rasterio
    from scipy import ndimage

    with rasterio.open(path) as dataset:
        green, nir = dataset.read(2).astype(float), dataset.read(4).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        land = (green - nir) / (green + nir) < 0
    centres, masks = vessel_masks(coco_path)
    land &= ~np.logical_or.reduce(masks)
    # Specks next to a hull (its blurred edge, a wake) are not land.
    labels, n = ndimage.label(land)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    land = (sizes >= MIN_LAND)[labels] & land
    berth = []
    for col, row in np.asarray(big, float).reshape(-1, 2):
        mask = masks[np.argmin(np.hypot(*(centres - (col, row)).T))]
        near = ndimage.binary_dilation(mask, iterations=LAND_MARGIN)
        berth.append(bool((near & land).any()))
    return np.array(berth, bool)


def port_lines(script, ports, found, threshold, data):
    """The ports, berth and anchor lines of out-of-fold sweeps scanned at ``threshold``."""
    truth = json.loads((data / "truth.json").read_text())
    hits = marked = false = 0
    by_place = {"at berth": [0, 0], "at anchor": [0, 0]}
    keys = sorted(found)
    for key in keys:
        score = script.score(found[key], ports[key], threshold)
        hits, marked = hits + score.hits, marked + score.n_marked
        false += score.false_alarms
        hit = np.zeros(score.n_marked, bool)
        hit[score.detections.loc[score.detections["outcome"] == "hit", "ship"]] = True
        coco = data / f"{key.split('_')[0]}_coco.json"
        berth = at_berth(data / key, coco, truth[key]["big"])
        print(f"  {key}: {score.hits}/{score.n_marked}, false alarms "
              f"{score.false_alarms}, at berth {int(hit[berth].sum())}/"
              f"{int(berth.sum())}")
        for name, where in (("at berth", berth), ("at anchor", ~berth)):
            by_place[name][0] += int(hit[where].sum())
            by_place[name][1] += int(where.sum())
    for name, (h, n) in by_place.items():
        print(f"recall {name}: {h}/{n} ({h / max(n, 1):.2f})")
    print(f"sentinel-2 ports: found {hits}/{marked} (recall {hits / marked:.2f}), "
          f"false alarms {false} ({false / len(keys):.2f} per scene)")


def write_tile(path, size, seed=0):
    """A synthetic Sentinel-2 tile: dark water, a coast, bright hulls; uint16 x 10000."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    profile = {"driver": "GTiff", "height": size, "width": size, "count": 4,
               "dtype": "uint16", "crs": "EPSG:32633", "tiled": True,
               "blockxsize": 512, "blockysize": 512, "compress": "deflate",
               "transform": from_origin(300000, 5000000, 10, 10)}
    water = np.array([300, 500, 600, 150], np.uint16)
    land = np.array([1500, 1300, 1100, 2500], np.uint16)
    with rasterio.open(path, "w", **profile) as dataset:
        for top in range(0, size, 512):
            rows = min(512, size - top)
            block = np.empty((4, rows, size), np.uint16)
            coast = (np.arange(size) < size // 3)[None, None, :]
            block[:] = np.where(coast, land[:, None, None], water[:, None, None])
            block += rng.integers(0, 60, block.shape, dtype=np.uint16)
            for _ in range(max(1, rows * size // 2_000_000)):
                r, c = rng.integers(0, rows - 3), rng.integers(size // 3, size - 12)
                block[:, r:r + 3, c:c + 12] = 3000
            dataset.write(block, window=((top, top + rows), (0, size)))
        dataset.scales = (1e-4,) * 4
        dataset.offsets = (0.0,) * 4
        dataset.descriptions = ("red", "green", "blue", "nir")
    return path


def scan_tile(model, path, sidecar):
    """Ships counted in a tile file, its described bands read as the model reads them."""
    from sklship.scenes.scan import scan_scene

    return scan_scene(model, path, bands=tuple(sidecar["bands"]), scale=sidecar["input"],
                      **sidecar["scan"]).count


def tile_line(size):
    """Scan a synthetic tile in a child process; print its time and peak memory."""
    import subprocess

    started = time.perf_counter()
    output = subprocess.run([sys.executable, __file__, "--tile", str(size)], check=True,
                            capture_output=True, text=True).stdout
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2
    print(output.strip())
    print(f"peak memory of the tile's process: {peak:.2f} GB (with writing the tile, "
          f"{total:.0f} s in all)")


def tile_process(size):
    """The child process of :func:`tile_line`: write, load, scan; print the time."""
    from sklship import load_model

    sidecar = json.loads(SIDECAR.read_text())
    model = load_model(SIDECAR.with_suffix(".sklship"))
    with tempfile.TemporaryDirectory() as folder:
        path = write_tile(Path(folder) / "tile.tif", size)
        started = time.perf_counter()
        count = scan_tile(model, path, sidecar)
        seconds = time.perf_counter() - started
    print(f"tile {size} x {size} px, 4 bands uint16, 10 m: {count} detections")
    print(f"sentinel-2 tile: {seconds:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "data" / "sentinel2")
    parser.add_argument("--oof", type=Path, default=None,
                        help="out-of-fold scans written by the training script (joblib)")
    parser.add_argument("--shipsnet", type=Path, default=None,
                        help="ShipsNet's chips, if the shipped configuration adds them "
                        "(default: the training script's)")
    add_quick_flag(parser)
    parser.add_argument("--tile", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tile is not None:
        return tile_process(args.tile)

    script = training_script()
    sidecar = json.loads(SIDECAR.read_text())
    bands = tuple(sidecar["bands"])
    config = script.configured(sidecar["config"], bands, args.shipsnet or script.SHIPSNET)
    threshold = sidecar["scan"]["threshold"]
    ports = script.load_ports(args.data, bands)
    keys = list(ports)
    if args.quick:
        config.update(epochs=1, negatives_per_scene=100, rounds=0, positives_per_ship=1,
                      verifier_background=20)
        keys = keys[:1]
    if args.oof is not None:
        import joblib

        found = joblib.load(args.oof)
    else:
        found = script.leave_one_port_out(ports, config, keys,
                                          None if args.quick else script.WEIGHTS,
                                          log=lambda line: print(line, flush=True))[1]
    print(f"ports: {len(found)}, bands {','.join(bands)}, config {sidecar['config']}, "
          f"threshold {threshold:.2f}")
    tile_line(TILE // 10 if args.quick else TILE)
    port_lines(script, ports, found, threshold, args.data)


if __name__ == "__main__":
    main()
