"""The scene commands: scan and activity."""

import logging
from contextlib import ExitStack
from pathlib import Path

from .arguments import (
    CHIP_SIZE,
    SYNTHETIC_SAMPLES,
    CommandError,
    above,
    at_least,
    bad_file,
    band_list,
    percent,
    probability,
    scale_range,
)
from .files import dask_client, fitting, load_estimator, out_folder, save_display, write_text

log = logging.getLogger("sklship")


def add_parsers(commands, common, parents):
    """Add scan and activity (arguments as :func:`sklship.cli.chips.add_parsers`)."""
    scan = commands.add_parser(
        "scan", parents=[common, parents.dask], help="find and count ships in whole scenes",
        description="Slide a saved chip model over scenes (GeoTIFF/COG, read window "
        "by window, or PNG/JPEG); write detections.csv, detections.geojson (lon/lat "
        "of georeferenced scenes), counts.csv (per scene and area of interest) and "
        "an overlay PNG per scene. Scenes are resampled to the model's chip "
        "resolution as they are read; a PlanetScope *_udm2.tif beside a scene "
        "masks its clouds, haze, shadow and snow. Scenes done before (DIR/scenes/) are skipped "
        "unless --overwrite, so an interrupted run can be restarted. Without "
        "MODEL_FILE a CNN is trained on synthetic chips first; without SCENE a "
        "synthetic scene is scanned.")
    scan.add_argument("files", nargs="*", type=Path, metavar="MODEL_FILE [SCENE ...]",
                      help="a model saved by 'sklship train', then scene files")
    scan.add_argument("--aoi", type=Path, metavar="GEOJSON",
                      help="areas of interest (e.g. port waters): GeoJSON polygons in "
                      "lon/lat named by their 'name' property; only ships inside count, "
                      "per area")
    scan.add_argument("--bands", type=band_list, metavar="B,G,R",
                      help="1-based bands making the chips' red, green, blue, e.g. "
                      "3,2,1 for a 4-band PlanetScope analytic scene (default: the "
                      "first three)")
    scan.add_argument("--scale", type=scale_range, metavar="LOW,HIGH|percentile",
                      help="map LOW..HIGH to 0..255 (clipping outside), or "
                      "'percentile' (percentiles 2 and 98); required for scenes that "
                      "are not 8-bit")
    scan.add_argument("--resolution", type=above(0), metavar="METRES",
                      help="metres per pixel of scenes whose file does not say it (PNG, "
                      "JPEG, GeoTIFF without CRS); a georeferenced file's own resolution "
                      "wins. Windows are resampled to the model's chip resolution "
                      "(3 m for ShipsNet models) as they are read")
    scan.add_argument("--mask", type=Path, metavar="FILE",
                      help="usable-data mask: a raster (non-zero = unusable; reprojected "
                      "to the scene), a PlanetScope UDM2 (snow, shadow, heavy haze, "
                      "cloud unusable) or GeoJSON polygons in lon/lat (default: a "
                      "<scene>_udm2.tif / Planet-named UDM2 beside each scene, or the "
                      "STAC item's udm2 asset)")
    scan.add_argument("--stac", type=Path, metavar="PATH",
                      help="scan the items of a local STAC catalog, collection, item or "
                      "ItemCollection (JSON file): dates from the items, resolution from "
                      "gsd / proj:transform, the udm2 asset as mask")
    scan.add_argument("--asset", default="visual", metavar="KEY",
                      help="asset of the STAC items to scan, e.g. analytic with --bands "
                      "and --scale (default: %(default)s)")
    scan.add_argument("--max-cloud", type=percent, metavar="P",
                      help="skip (and report) STAC items whose eo:cloud_cover is above "
                      "P percent")
    scan.add_argument("--date-pattern", metavar="REGEX",
                      help="regular expression with named groups year, month, day "
                      "(hour, minute, second) finding the date in file names, e.g. "
                      "'(?P<year>\\d{4})-(?P<month>\\d\\d)-(?P<day>\\d\\d)' "
                      "(default: tags acquired / TIFFTAG_DATETIME, then PlanetScope ids "
                      "YYYYMMDD_HHMMSS_xxxx)")
    scan.add_argument("--overwrite", action="store_true",
                      help="scan scenes again that DIR/scenes/ holds results for")
    scan.add_argument("--stride", type=at_least(1), metavar="S",
                      help="step between windows in pixels (default: the largest power of "
                      "two not above window / 8, 8 for 80-pixel chips)")
    scan.add_argument("--threshold", type=probability, metavar="T",
                      help="ship probability that counts (default: the threshold saved "
                      "with the model, else 0.5)")
    scan.add_argument("--min-neighbors", type=int, choices=range(9), metavar="K",
                      help="neighbouring windows that must reach the threshold too, "
                      "0 to 8 (default: 1 at strides up to window / 8 without "
                      "--smoothing, else 0)")
    scan.add_argument("--smoothing", type=at_least(1), metavar="K",
                      help="average each window's probability over its K x K grid "
                      "neighbourhood before thresholding (default: 3 for models trained "
                      "with the 'shift' augmentation at strides up to window / 8, "
                      "else 1)")
    scan.add_argument("--candidate-threshold", type=probability, metavar="P",
                      help="run test-time augmentation only near windows whose single "
                      "pass reaches P; 0: everywhere (default: 0.15 with smoothing, else 0.01)")
    scan.add_argument("--scene-size", type=at_least(16), default=800, metavar="N",
                      help="side of the synthetic scene (default: %(default)s)")
    scan.add_argument("--n-ships", type=at_least(0), default=8, metavar="N",
                      help="ships in the synthetic scene (default: %(default)s)")
    scan.add_argument("--n-samples", type=at_least(20), default=SYNTHETIC_SAMPLES,
                      metavar="N", help="synthetic chips to train the model on "
                      "(default: %(default)s)")
    scan.add_argument("--image-size", type=at_least(16), default=CHIP_SIZE,
                      metavar="N", help="synthetic chip side (default: %(default)s)")
    scan.add_argument("--epochs", type=at_least(1), default=5, metavar="N",
                      help="epochs of the synthetic model (default: %(default)s)")
    scan.add_argument("--seed", type=int, default=0,
                      help="seed of the synthetic data and model (default: %(default)s)")
    scan.add_argument("--out", type=Path, default=Path("sklship-scan"), metavar="DIR",
                      help="output folder (default: %(default)s)")
    scan.set_defaults(run=_scan)

    activity = commands.add_parser(
        "activity", parents=[common], help="ships per port and period from scan counts",
        description="Turn counts.csv files of 'sklship scan' into a port-activity "
        "time series: activity.csv (aoi, period, n_scenes, mean_ships, max_ships, "
        "90 % interval of the mean, clear_fraction, thin) and activity.png (one line "
        "per area; the number of scenes behind each point is written beside it; "
        "hollow points: fewer than 3 scenes). With --base, an index (100 = the base "
        "period's mean) with 90 % bootstrap intervals, drawn with its band. Rows "
        "without a datetime, or whose area had too little valid or clear data, are "
        "left out with a message.")
    activity.add_argument("counts", nargs="+", type=Path, metavar="COUNTS_CSV")
    activity.add_argument("--freq", choices=["D", "W", "M"], default="W",
                          help="period: day, week or month (default: %(default)s)")
    activity.add_argument("--min-valid-fraction", type=probability, default=0.5,
                          metavar="F", help="leave out counts of areas with less "
                          "valid data (default: %(default)s)")
    activity.add_argument("--min-clear", type=probability, default=0.0, metavar="F",
                          help="leave out (and report) counts of areas whose clear "
                          "share (data, not cloud, haze, shadow or snow) is below F "
                          "(default: %(default)s)")
    activity.add_argument("--base", metavar="PERIOD",
                          help="base period of the index, e.g. 2017-01, or a range "
                          "2017-01:2017-03: adds index = 100 x period mean / base mean, "
                          "with a 90 %% interval (bootstrap over scenes, seeded)")
    activity.add_argument("--out", type=Path, default=Path("sklship-activity"),
                          metavar="DIR", help="output folder (default: %(default)s)")
    activity.set_defaults(run=_activity)


def _scan(args):
    import time

    import matplotlib

    matplotlib.use("Agg")
    from ..datasets import make_scene
    from ..estimators.unwrap import fitted_network
    from ..scenes.export import ScanFolder, provenance
    from ..scenes.survey import ScanSettings

    try:
        folder = ScanFolder(args.out)
    except OSError as exc:
        raise bad_file(exc) from exc
    model_file = args.files[0] if args.files else None
    if model_file is not None:
        model = load_estimator(model_file)
        shape = getattr(fitted_network(model), "input_shape_", None)
        size = None if shape is None else shape[0]
    else:
        model, size = _quick_model(args), args.image_size
    aoi = None
    if args.aoi is not None:
        from ..scenes.geo import read_aoi

        try:
            aoi = read_aoi(args.aoi)
        except (OSError, ValueError) as exc:
            raise bad_file(exc) from exc
    settings = fitting(lambda: ScanSettings(
        stride=args.stride, threshold=args.threshold, min_neighbors=args.min_neighbors,
        smoothing=args.smoothing, candidate_threshold=args.candidate_threshold,
        bands=args.bands, scale=args.scale, aoi=aoi, date_pattern=args.date_pattern,
        resolution=args.resolution, mask=args.mask, asset=args.asset))
    # name -> (what to scan, known ship positions)
    # A shell glob (scenes/*.tif) also matches the UDM2 masks lying beside the scenes.
    files = [path for path in args.files[1:] if "udm2" not in path.stem.lower()]
    if len(files) < len(args.files[1:]):
        log.info(f"{len(args.files) - 1 - len(files)} *udm2* files given as scenes are "
                 "not scanned: they are usable-data masks, used beside their scenes.")
    stems = [path.stem for path in files]
    scenes = {stem: (path, None) for stem, path in zip(stems, files, strict=True)}
    failed = _stac_scenes(args, scenes, stems)
    if len(scenes) < len(stems):
        twice = sorted({stem for stem in stems if stems.count(stem) > 1})
        raise CommandError(f"scenes must have different names; several are called "
                           f"{', '.join(twice)}", 2)
    if not scenes and args.stac is None:
        if size is None:
            raise CommandError(f"{args.files[0]} does not say its chip size; give a "
                               "SCENE to scan", 2)
        scene, ships = make_scene(args.scene_size, args.scene_size, n_ships=args.n_ships,
                                  chip_size=size, random_state=args.seed)
        scenes = {"synthetic-scene": (scene, ships)}

    names = list(scenes)
    todo = [name for name in names if args.overwrite or not folder.done(name)]
    for name in names:
        if name not in todo:
            print(f"{name}: scanned before, skipped (--overwrite to scan it again)")
    start = time.perf_counter()
    with ExitStack() as stack:
        client = None
        if todo and (args.scheduler or args.dask_workers):
            from dask.distributed import default_client

            where = dask_client(stack, args.scheduler, args.dask_workers)
            client = default_client()
            log.info(f"Scanning {len(todo)} scenes on {where}.")
        results = _scan_progress(model, [scenes[name][0] for name in todo], client,
                                 settings, args.progress)
        for index, result, error, messages in results:
            name = todo[index]
            for message in messages:
                log.warning(f"{name}: {message}")
            if error is not None:
                failed[name] = str(error).splitlines()[0]
                continue
            _write_scene(folder, name, result, *scenes[name])
    done = [name for name in names if name not in failed]
    if done:
        record = provenance(model, settings, model_file=model_file,
                            seconds=time.perf_counter() - start)
        try:
            detections, _ = folder.combine(done, record)
        except OSError as exc:
            raise bad_file(exc) from exc
        mapped = int(detections["lon"].notna().sum()) if "lon" in detections else 0
        note = ("" if mapped == len(detections) else f"; {len(detections) - mapped} "
                "detections of scenes without CRS are in detections.csv only")
        log.info(f"Wrote detections.csv, detections.geojson ({mapped} points{note}), "
                 f"counts.csv, run.json and overlays to {folder.path}")
    if failed:
        raise CommandError(f"{len(failed)} of {len(set(names) | set(failed))} scenes "
                           "could not be scanned "
                           "(the others were written): " + "; ".join(
                               f"{name}: {reason}" for name, reason in failed.items()), 1)


def _stac_scenes(args, scenes, stems):
    """Add the items of ``--stac`` to ``scenes``; report skipped ones; return failed ones."""
    if args.stac is None:
        return {}
    from ..scenes.stac import read_stac

    try:
        items, skipped, failed = read_stac(args.stac, asset=args.asset,
                                           max_cloud=args.max_cloud)
    except (OSError, ValueError) as exc:
        raise bad_file(exc) from exc
    for name, why in skipped.items():
        print(f"{name}: skipped ({why})")
    for item in items:
        stems.append(item.name)
        scenes[item.name] = (item, None)
    log.info(f"{args.stac}: {len(items)} STAC items to scan ({args.asset!r} assets), "
             f"{len(skipped)} skipped, {len(failed)} without that asset.")
    return failed


def _scan_progress(model, scenes, client, settings, progress):
    """The scans (see ``survey.iter_scans``) behind a progress bar over scenes."""
    from ..scenes.survey import iter_scans

    results = iter_scans(model, scenes, client=client, settings=settings)
    if progress:
        from tqdm.auto import tqdm

        # disable=None: only on a terminal, never into a log file.
        results = tqdm(results, total=len(scenes), desc="scan", unit="scene",
                       disable=None)
    return results


def _write_scene(folder, name, result, scene, ships):
    """Print a scene's count and write its tables and overlay."""
    from ..scenes.sources import open_scene

    inside = "" if result.counts["aoi"].isna().all() else " (" + ", ".join(
        f"{aoi}: {count}" for aoi, count in
        result.counts[["aoi", "count"]].itertuples(index=False)) + ")"
    print(f"{name}: {result.count} ships{inside}"
          + ("" if ships is None else f" ({len(ships)} placed)"))
    if result.crs is None:
        log.warning(f"{name} has no CRS: its detections have pixel row/col "
                    "only (no x, y, lon, lat)")
    scene = getattr(scene, "href", scene)  # a STAC item's asset
    with open_scene(scene, bands=result.bands, scale=result.scale) as source:
        picture = source.overview()[0]
    try:
        folder.write_scene(name, result, picture, true_positions=ships)
    except OSError as exc:
        raise bad_file(exc) from exc


def _activity(args):
    import warnings

    import matplotlib

    matplotlib.use("Agg")

    from ..scenes.activity import port_activity, read_counts
    from ..scenes.display import ActivityDisplay

    try:
        counts = read_counts(args.counts)
    except (OSError, ValueError) as exc:
        raise bad_file(exc) from exc
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            activity = port_activity(counts, freq=args.freq,
                                     min_valid_fraction=args.min_valid_fraction,
                                     min_clear=args.min_clear, base=args.base)
        except ValueError as exc:
            raise CommandError(str(exc), 2) from exc
    for warning in caught:
        log.warning(warning.message)
    out = out_folder(args.out)  # after the checks: nothing half-written
    print(activity.to_markdown(index=False, floatfmt=".2f"))
    write_text(out / "activity.csv", activity.to_csv(index=False, date_format="%Y-%m-%d"))
    save_display(ActivityDisplay(activity, freq=args.freq).plot(), out / "activity.png")
    log.info(f"Wrote activity.csv and activity.png to {out}")


def _quick_model(args):
    """The book CNN fitted on synthetic chips, for scanning without a model file."""
    from ..datasets import make_ships
    from ..estimators.zoo import book_cnn

    data = make_ships(args.n_samples, image_size=args.image_size,
                      random_state=args.seed)
    log.info(f"Training the book's CNN on {args.n_samples} synthetic chips "
             f"({args.epochs} epochs).")
    model = book_cnn(data.target, epochs=args.epochs, random_state=args.seed)
    return fitting(lambda: model.fit(data.images, data.target))
