"""Build the example scene that ships with sklship (``sklship/datasets/data/long_beach.tif``).

A one-off, rerunnable script. It reads the shared ShipsNet release (``../shared/data``
beside the repository, or ``--shared``) and writes one small GeoTIFF:

1. **Crop.** A 915 x 620 pixel window of ``scenes/lb_3.png`` (Port of Long Beach,
   PlanetScope, about 3 m per pixel): four ships at anchor marked ``big`` in
   ``scenes/truth.json``, a container terminal with cranes and the end of a pier.
   The pixels are copied unchanged (lossless deflate), RGB uint8.
2. **Georeference.** ``scenes/lb_wide.jpg`` holds the whole port, ``lb_3`` at column 20,
   row 623 (checked here: that offset has the smallest mean absolute difference of
   its 3 x 3 neighbourhood). Each ShipsNet chip whose name puts its centre in San Pedro
   Bay (``{label}__{scene_id}__{lon}_{lat}.png``) is located in ``lb_wide`` by
   normalised cross-correlation (FFT, sub-pixel peak). Chips cut from other dates
   match too where the ground does not change, and chips of water match anywhere, so
   the matches vote: every match proposes the translation of a north-up 3 m grid in
   UTM zone 11N (EPSG:32611, through pyproj), and the proposal that most matches agree
   with (within ``--tolerance`` metres, spread over ``--min-span`` pixels, since chips of
   one ship on several dates agree on that ship) wins. Its matches become ground control
   points of the north-up 3 m grid (PlanetScope's ortho pixels) through their mean position;
   the script prints each point's residual and leave-one-out error in metres. A free
   least-squares affine through the same points (``rasterio.transform.from_gcps``)
   checks the grid's assumptions: its pixel size and rotation are printed.
3. **Marks.** The ``truth.json`` marks of ``lb_3`` inside the crop, shifted to the crop's
   pixels, go into the file's tags (``SHIP_MARKS``, JSON ``{"big": [[col, row], ...],
   "small": [...]}``) with the source and the licence (CC BY-SA 4.0, "Planet Labs /
   ShipsNet").

Run from the repository root::

    python scripts/make_example_scene.py            # writes sklship/datasets/data/long_beach.tif
    python scripts/make_example_scene.py --out /tmp/scene.tif --shared /path/to/shared

Matching takes about three minutes on one core. The numbers it prints are recorded in
``sklship/datasets/data/ATTRIBUTION.md``.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.transform import Affine, from_gcps
from scipy import fft

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "sklship" / "datasets" / "data" / "long_beach.tif"

#: The crop in ``lb_3.png`` pixels: column, row of the top-left corner, width, height.
CROP = (440, 100, 915, 620)
#: Where ``lb_3.png`` sits in ``lb_wide.jpg`` (scenes/README.md): column, row.
LB3_IN_WIDE = (20, 623)
#: Chips whose centre lies in this lon/lat box (San Pedro Bay) are tried.
BBOX = (-118.30, 33.65, -118.10, 33.80)
CRS = "EPSG:32611"
RESOLUTION = 3.0
CHIP = 80
LICENCE = "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)"
CREDIT = "Planet Labs / ShipsNet"


def read_rgb(path):
    """An image file as a (rows, cols, 3) float array."""
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def check_offset(wide, part, offset):
    """Raise unless ``part`` sits in ``wide`` at ``offset`` (col, row) better than 1 px away."""
    col, row = offset
    h, w = part.shape[:2]
    diffs = {(dc, dr): np.abs(wide[row + dr:row + dr + h, col + dc:col + dc + w] - part).mean()
             for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
    best = min(diffs, key=diffs.get)
    if best != (0, 0):
        raise RuntimeError(f"lb_3 is not at {offset} in lb_wide; shift {best} fits better")
    return diffs[0, 0]


def chip_catalogue(folder, bbox):
    """ShipsNet chips whose centre lies in ``bbox``: (file, lon, lat) tuples."""
    west, south, east, north = bbox
    chips = []
    for path in sorted(Path(folder).glob("*.png")):
        _, _, place = path.stem.split("__")
        lon, lat = map(float, place.split("_"))
        if west < lon < east and south < lat < north:
            chips.append((path, lon, lat))
    return chips


class Correlator:
    """Normalised cross-correlation of 80 x 80 templates with one grey image, by FFT."""

    def __init__(self, image):
        self.shape_in = image.shape
        self.shape = [fft.next_fast_len(n + CHIP - 1) for n in image.shape]
        self.spectrum = fft.rfft2(image, self.shape)
        sums = [np.pad(a.cumsum(0).cumsum(1), ((1, 0), (1, 0))) for a in (image, image**2)]
        s1, s2 = (a[CHIP:, CHIP:] - a[:-CHIP, CHIP:] - a[CHIP:, :-CHIP] + a[:-CHIP, :-CHIP]
                  for a in sums)
        self.norm = np.sqrt(np.maximum(s2 - s1**2 / CHIP**2, 1e-9))
        self.flat = self.norm < 1e-3 * CHIP

    def peak(self, template):
        """Best NCC and the template centre there as sub-pixel (col, row), corner-based."""
        t = template - template.mean()
        energy = np.sqrt((t**2).sum())
        if energy < 1e-6:
            return 0.0, (np.nan, np.nan)
        h, w = self.shape_in
        c = fft.irfft2(self.spectrum * fft.rfft2(t[::-1, ::-1], self.shape), self.shape)
        ncc = c[CHIP - 1:h, CHIP - 1:w] / (energy * self.norm)
        ncc[self.flat] = 0
        r, k = np.unravel_index(np.argmax(ncc), ncc.shape)
        dr = _vertex(ncc[r - 1:r + 2, k]) if 0 < r < ncc.shape[0] - 1 else 0.0
        dk = _vertex(ncc[r, k - 1:k + 2]) if 0 < k < ncc.shape[1] - 1 else 0.0
        # The chip spans pixels k .. k + 79, so its centre is the corner k + 40.
        return float(ncc[r, k]), (k + dk + CHIP / 2, r + dr + CHIP / 2)


def _vertex(values):
    """Sub-pixel offset of a parabola's vertex through three values around a maximum."""
    left, mid, right = values
    denom = left - 2 * mid + right
    return 0.0 if denom >= 0 else 0.5 * (left - right) / denom


def match_chips(image, chips, min_ncc):
    """Locate each chip in ``image``: rows (ncc, col, row, x, y, name) with ncc >= min_ncc."""
    to_utm = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    correlator = Correlator(image.mean(axis=2))
    matches = []
    for i, (path, lon, lat) in enumerate(chips, 1):
        score, (col, row) = correlator.peak(read_rgb(path).mean(axis=2))
        if score >= min_ncc:
            x, y = to_utm.transform(lon, lat)
            matches.append((score, col, row, x, y, path.name))
        print(f"\rmatched {i}/{len(chips)} chips", end="", file=sys.stderr)
    print(file=sys.stderr)
    return matches


def grid_origins(points):
    """UTM x, y of pixel corner (0, 0) of the north-up 3 m grid through each point."""
    m = np.array([p[1:5] for p in points])
    return m[:, 2:] - RESOLUTION * m[:, :2] * [1, -1]


def north_up_grid(points):
    """The north-up 3 m transform through the points' mean position."""
    x0, y0 = grid_origins(points).mean(axis=0)
    return Affine(RESOLUTION, 0, x0, 0, -RESOLUTION, y0)


def consensus(matches, tolerance, min_span):
    """The largest set of matches that agree on one north-up 3 m grid and are well spread.

    Chips of one ship taken on several dates match that ship in the scene and agree
    with each other, so a set counts only if its matches span at least ``min_span``
    pixels in both columns and rows.
    """
    origins = grid_origins(matches)
    where = np.array([m[1:3] for m in matches])
    best = []
    for origin in origins:
        agree = np.flatnonzero(np.hypot(*(origins - origin).T) <= tolerance)
        if np.ptp(where[agree], axis=0).min() >= min_span and len(agree) > len(best):
            best = agree
    return [matches[i] for i in best]


def fit(points):
    """Least-squares affine (pixel corner-based col, row -> UTM x, y) through ``points``."""
    gcps = [GroundControlPoint(row=r, col=c, x=x, y=y) for _, c, r, x, y, _ in points]
    return from_gcps(gcps)


def residuals(transform, points):
    """Distance in metres between each point's UTM position and ``transform``'s."""
    return np.array([np.hypot(*(np.array(transform * (c, r)) - (x, y)))
                     for _, c, r, x, y, _ in points])


def georeference(shared, min_ncc, tolerance, min_span):
    """The north-up 3 m transform of ``lb_wide.jpg`` in UTM 11N, with its checks printed."""
    wide = read_rgb(shared / "scenes" / "lb_wide.jpg")
    diff = check_offset(wide, read_rgb(shared / "scenes" / "lb_3.png"), LB3_IN_WIDE)
    print(f"lb_3 sits in lb_wide at {LB3_IN_WIDE}: mean |difference| {diff:.2f} grey levels")
    chips = chip_catalogue(shared / "shipsnet" / "shipsnet", BBOX)
    matches = match_chips(wide, chips, min_ncc)
    points = consensus(matches, tolerance, min_span)
    print(f"{len(chips)} chips tried, {len(matches)} with NCC >= {min_ncc}, "
          f"{len(points)} agree on one 3 m north-up grid (within {tolerance} m, spread over "
          f">= {min_span} px):")
    if len(points) < 3:
        raise RuntimeError("fewer than 3 chip matches agree: no honest georeference")
    transform = north_up_grid(points)
    for point, res in zip(points, residuals(transform, points), strict=True):
        others = [p for p in points if p is not point]
        loo = residuals(north_up_grid(others), [point])[0]
        print(f"  NCC {point[0]:.3f} at col {point[1]:7.2f} row {point[2]:7.2f}: "
              f"residual {res:4.2f} m, left out {loo:4.2f} m  {point[5]}")
    res = residuals(transform, points)
    print(f"3 m north-up grid: RMS residual {np.sqrt(np.mean(res**2)):.2f} m, "
          f"largest {res.max():.2f} m")
    # Check the grid's assumptions (3 m pixels, north up) with a free affine.
    affine = fit(points)
    rotation = np.degrees(np.arctan2(affine.d, affine.a))
    print(f"free least-squares affine: pixel {affine.a:.4f} x {-affine.e:.4f} m, "
          f"rotation {rotation:.3f} deg, RMS residual "
          f"{np.sqrt(np.mean(residuals(affine, points) ** 2)):.2f} m")
    return transform


def crop_marks(truth, crop):
    """``lb_3`` marks inside ``crop``, in the crop's pixels, as {"big": [...], "small": [...]}."""
    col0, row0, width, height = crop
    return {kind: [[c - col0, r - row0] for c, r in truth[kind]
                   if 0 <= c - col0 < width and 0 <= r - row0 < height]
            for kind in ("big", "small")}


def write_scene(out, pixels, transform, marks):
    """Write the crop as a deflated, tiled RGB GeoTIFF with CRS, transform and tags."""
    out.parent.mkdir(parents=True, exist_ok=True)
    height, width = pixels.shape[:2]
    profile = dict(driver="GTiff", width=width, height=height, count=3, dtype="uint8",
                   crs=CRS, transform=transform, photometric="RGB", compress="deflate",
                   predictor=2, zlevel=9, tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.moveaxis(pixels, 2, 0))
        dst.update_tags(
            TIFFTAG_IMAGEDESCRIPTION="Port of Long Beach, PlanetScope 3 m RGB "
                                     "(ShipsNet scene lb_3, cropped)",
            TIFFTAG_COPYRIGHT=f"{CREDIT}, {LICENCE}",
            SOURCE=f"{CREDIT}: ShipsNet scene lb_3.png, crop col {CROP[0]} row {CROP[1]} "
                   f"size {CROP[2]} x {CROP[3]}",
            LICENSE=LICENCE,
            CREDIT=CREDIT,
            GEOREFERENCE="fitted to ShipsNet chip centres by normalised cross-correlation "
                         "(scripts/make_example_scene.py)",
            SHIP_MARKS=json.dumps(marks),
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="folder holding scenes/ and shipsnet/ (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="GeoTIFF to write (default: %(default)s)")
    parser.add_argument("--min-ncc", type=float, default=0.8,
                        help="smallest correlation a chip match needs (default: %(default)s)")
    parser.add_argument("--tolerance", type=float, default=15.0,
                        help="metres within which matches agree (default: %(default)s)")
    parser.add_argument("--min-span", type=float, default=300.0,
                        help="pixels the agreeing matches must span in columns and rows "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)

    wide_transform = georeference(args.shared, args.min_ncc, args.tolerance, args.min_span)
    col0, row0, width, height = CROP
    transform = wide_transform * Affine.translation(LB3_IN_WIDE[0] + col0, LB3_IN_WIDE[1] + row0)
    lb3 = np.asarray(Image.open(args.shared / "scenes" / "lb_3.png").convert("RGB"))
    truth = json.loads((args.shared / "scenes" / "truth.json").read_text())["lb_3.png"]
    marks = crop_marks(truth, CROP)
    write_scene(args.out, lb3[row0:row0 + height, col0:col0 + width], transform, marks)
    to_lonlat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), transform {tuple(transform)[:6]}")
    for c, r in marks["big"]:
        lon, lat = to_lonlat.transform(*(transform * (c + 0.5, r + 0.5)))
        print(f"  big ship at col {c} row {r}: lon {lon:.5f} lat {lat:.5f}")


if __name__ == "__main__":
    main()
