"""The scene commands: scan and activity.

Parsing and printing only: ``sklship scan`` is
:func:`sklship.scenes.survey.scan_to_folder`, its scan flags are made from
the fields of :class:`sklship.scenes.settings.ScanSettings`
(:func:`add_setting_flags`), ``sklship activity`` is
:func:`sklship.scenes.activity.port_activity` and its display.
"""

import logging
from contextlib import ExitStack
from dataclasses import fields
from numbers import Integral
from pathlib import Path

from .arguments import (
    CHIP_SIZE,
    SYNTHETIC_SAMPLES,
    CommandError,
    at_least,
    bad_file,
    band_list,
    bounded,
    percent,
    probability,
    reflectance_pairs,
    scale_range,
)
from .files import (
    dask_client,
    fitting,
    is_model_file,
    load_estimator,
    out_folder,
    save_display,
    write_text,
)

log = logging.getLogger("sklship")

SCAN_DESCRIPTION = (
    "Slide a saved chip model over scenes (GeoTIFF/COG, read window by window, or "
    "PNG/JPEG); write detections.csv, detections.geojson (lon/lat of georeferenced "
    "scenes), counts.csv (per scene and area of interest) and an overlay PNG per "
    "scene. Scenes are resampled to the model's chip resolution as they are read; a "
    "PlanetScope *_udm2.tif beside a scene masks its clouds, haze, shadow and snow. "
    "Scenes done before (DIR/scenes/) are skipped unless --overwrite, so an "
    "interrupted run can be restarted; results that another file of the same name, "
    "another model or other settings made are refused. Without a model, the shipped model whose "
    "ground resolution is nearest the scenes' scans them (PlanetScope 3 m, "
    "Sentinel-2 10 m); with neither model nor SCENE, a CNN trained on synthetic "
    "chips scans a synthetic scene (a demonstration).")

ACTIVITY_DESCRIPTION = (
    "Turn counts.csv files of 'sklship scan' into a port-activity time series: "
    "activity.csv (aoi, period, n_scenes, mean_ships, max_ships, 90 % interval of the "
    "mean, clear_fraction, thin) and activity.png (one line per area; the number of "
    "scenes behind each point is written beside it; hollow points: fewer than 3 "
    "scenes). With --base, an index (100 = the base period's mean) with 90 % "
    "bootstrap intervals, drawn with its band. Rows without a datetime, or whose area "
    "had too little valid or clear data, are left out with a message.")


def add_parsers(commands, common, parents):
    """Add scan and activity (arguments as :func:`sklship.cli.chips.add_parsers`)."""
    _add_scan(commands, common, parents)
    _add_activity(commands, common)


def _add_scan(commands, common, parents):
    from ..shipped.registry import shipped_models

    scan = commands.add_parser(
        "scan", parents=[common, parents.dask], help="find and count ships in whole scenes",
        description=SCAN_DESCRIPTION)
    scan.add_argument("files", nargs="*", type=Path, metavar="[MODEL_FILE] SCENE",
                      help="scene files or folders of them, or Sentinel-2 Level-2A "
                      "products (.SAFE folders or their zips), after a model file saved "
                      "by 'sklship train' or 'sklship adapt' (or give it with --model)")
    scan.add_argument("--model", metavar="NAME|FILE",
                      help="the model: a shipped model's name (" + ", ".join(
                          shipped_models()) + ") or a model file (default: the shipped "
                      "model whose ground resolution is nearest the scenes', or that their tags "
                      "name)")
    scan.add_argument("--example", action="store_true",
                      help="also scan the example scene that ships with sklship (Port "
                      "of Long Beach, PlanetScope, CC BY-SA 4.0 Planet Labs / ShipsNet)")
    add_setting_flags(scan)
    scan.add_argument("--stac", type=Path, metavar="PATH",
                      help="scan the items of a local STAC catalog, collection, item or "
                      "ItemCollection (JSON file): dates from the items, resolution from "
                      "gsd / proj:transform, the udm2 asset as mask")
    scan.add_argument("--max-cloud", type=percent, metavar="P",
                      help="skip (and report) STAC items and Sentinel-2 products whose "
                      "cloud cover (eo:cloud_cover, Cloud_Coverage_Assessment) is above "
                      "P percent")
    scan.add_argument("--overwrite", action="store_true",
                      help="scan scenes again that DIR/scenes/ holds results for")
    synthetic = [("--scene-size", 16, 800, "side of the synthetic scene"),
                 ("--n-ships", 0, 8, "ships in the synthetic scene"),
                 ("--n-samples", 20, SYNTHETIC_SAMPLES, "synthetic chips to train the "
                  "model on"),
                 ("--image-size", 16, CHIP_SIZE, "synthetic chip side"),
                 ("--epochs", 1, 5, "epochs of the synthetic model")]
    for flag, minimum, default, text in synthetic:
        scan.add_argument(flag, type=at_least(minimum), default=default, metavar="N",
                          help=f"{text} (default: %(default)s)")
    scan.add_argument("--seed", type=int, default=0,
                      help="seed of the synthetic data and model (default: %(default)s)")
    scan.add_argument("--out", type=Path, default=Path("sklship-scan"), metavar="DIR",
                      help="output folder (default: %(default)s)")
    scan.set_defaults(run=_scan, check=_check_scenes)


def add_setting_flags(parser, names=None):
    """One flag per field of :class:`~sklship.scenes.settings.ScanSettings` (of
    ``names`` only, when given).

    ``--name-with-dashes``, its help, metavar and value check from the field's
    metadata; the default None leaves the setting at its own default. A
    field without ``parse`` (``progress``) has a flag of every command
    (``--no-progress``).
    """
    from ..scenes.settings import ScanSettings

    for item in fields(ScanSettings):
        meta = item.metadata
        if meta["parse"] is None or names is not None and item.name not in names:
            continue
        default = "" if item.default is None else f" (default: {item.default})"
        parser.add_argument("--" + item.name.replace("_", "-"), dest=item.name,
                            type=_flag_type(meta), metavar=meta["metavar"],
                            help=meta["help"] + ("" if "default:" in meta["help"]
                                                 else default))


def _flag_type(meta):
    """The argparse type of a setting: its parser, checked against its constraint."""
    from .._validation import Interval

    kinds = {"bands": band_list, "scale": scale_range, "reflectance": reflectance_pairs,
             "path": Path, "text": str}
    if meta["parse"] in kinds:
        return kinds[meta["parse"]]
    interval = next(c for c in meta["constraint"] if isinstance(c, Interval))
    if interval.type is not Integral and (interval.left, interval.right) == (0, 1):
        return probability
    low, high = interval.left, interval.right
    limits = (f"between {low:g} and {high:g}" if high is not None else
              f"at least {low:g}" if interval.closed in ("left", "both") else
              f"above {low:g}")
    return bounded(int if interval.type is Integral else float, limits,
                    lambda value: value in interval)


def _add_activity(commands, common):
    activity = commands.add_parser(
        "activity", parents=[common], help="ships per port and period from scan counts",
        description=ACTIVITY_DESCRIPTION)
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
    activity.set_defaults(run=_activity, uses_tensorflow=False)


def _scan(args):
    import matplotlib

    matplotlib.use("Agg")
    from ..scenes.stac import DEFAULT_ASSET
    from ..scenes.survey import scan_to_folder

    files = args.scene_files
    if not files and args.skipped and args.stac is None:
        print("Nothing to scan: every scene was skipped.")
        return
    scenes, failed = _stac_scenes(args, args.asset or DEFAULT_ASSET, files)
    model, model_file, size, asks = _model(args, scenes)
    if asks.get("asset") and not args.asset and args.stac is not None:
        scenes, failed = _stac_scenes(args, asks["asset"], files)
    failed = {**args.missing, **failed}
    settings = _settings(args, asks)
    ships = None
    if not scenes and args.stac is None:
        scenes, ships = _synthetic_scene(args, size)
    with ExitStack() as stack:
        client = _client(stack, args, scenes)
        try:
            report = scan_to_folder(
                model, scenes, args.out, settings=settings, client=client,
                overwrite=args.overwrite, model_file=model_file, true_positions=ships,
                progress=args.progress, on_scene=_count_printer(ships))
        except ValueError as exc:
            raise CommandError(str(exc).rstrip("."), 2) from exc
        except OSError as exc:
            raise bad_file(exc) from exc
    _print_report(report, failed)


def _check_scenes(args):
    """Before TensorFlow loads: ``--out``, the scene files given
    (``args.scene_files``) and those missing (``args.missing``); an error when
    every one is missing."""
    if args.out.exists() and not args.out.is_dir():
        raise CommandError(f"--out {args.out} is a file; give a folder for the results", 2)
    files, missing = _existing(_scene_files(args))
    files, failed, args.skipped = _products(files, args.max_cloud)
    missing = {**missing, **failed}
    if missing and not files and args.stac is None:
        raise CommandError(_failures(missing, len(missing)), 1)
    args.scene_files, args.missing = files, missing


def _scene_files(args):
    """The scene files given (after a model file given first; a folder given as the
    scene files in it), and the example scene."""
    files = list(args.files)
    if args.model is None and files and is_model_file(files[0]):
        args.model = files.pop(0)  # the older form: sklship scan MODEL_FILE SCENE ...
    files = [scene for given in files for scene in _in_folder(given)]
    if args.example:
        from ..datasets.example import load_example_scene

        files.append(load_example_scene())
    return files


def _model(args, scenes):
    """The model, its file or name, its chip size, and the settings it asks for.

    No model and no scene: a CNN trained on synthetic chips (a demonstration).
    No model: the shipped model for the scenes' resolution and bands.
    """
    from ..estimators.unwrap import fitted_network
    from ..shipped.registry import pick_for_scenes, shipped_or_file

    if args.model is None and not scenes and args.stac is None:
        return _quick_model(args), None, args.image_size, {}
    if args.model is None:
        spec = fitting(lambda: pick_for_scenes(scenes, args.bands, args.resolution,
                                               args.reflectance))
    else:
        try:
            spec = shipped_or_file(str(args.model))
        except ValueError as exc:
            raise CommandError(f"--model {exc}", 1) from exc
    if spec is not None:
        log.info(f"Model: the shipped {spec.name!r} ({spec.sensor}, {spec.resolution:g} m).")
        # The loaded model records its bands and scale (read_options_).
        return spec.load(), spec.file, spec.window, dict(spec.scan)
    model = load_estimator(Path(args.model))
    shape = getattr(fitted_network(model), "input_shape_", None)
    return model, Path(args.model), None if shape is None else shape[0], {}


def _settings(args, asks=None):
    """The :class:`~sklship.scenes.settings.ScanSettings` of the flags given.

    ``asks``: what a shipped model's description asks for (threshold,
    candidate_threshold, ...), under the flags given.
    """
    from ..scenes.settings import ScanSettings

    given = {name: getattr(args, name) for name in ScanSettings.names()
             if name != "progress" and getattr(args, name, None) is not None}
    given = {**{k: v for k, v in (asks or {}).items() if k in ScanSettings.names()},
             **given}
    if "aoi" in given:  # read once here: a bad file is reported before any scan
        from ..scenes.geo import read_aoi

        try:
            given["aoi"] = read_aoi(given["aoi"])
        except (OSError, ValueError) as exc:
            raise bad_file(exc) from exc
    return fitting(lambda: ScanSettings(**given))


def _synthetic_scene(args, size):
    """A synthetic scene to scan, and its ships, when no scene is given."""
    from ..datasets import make_scene

    if size is None:
        raise CommandError(f"{args.files[0]} does not say its chip size; give a "
                           "SCENE to scan", 2)
    scene, ships = make_scene(args.scene_size, args.scene_size, n_ships=args.n_ships,
                              chip_size=size, random_state=args.seed)
    return {"synthetic-scene": scene}, {"synthetic-scene": ships}


def _client(stack, args, scenes):
    """A Dask client when --scheduler or --dask-workers is given, else None."""
    if not scenes or not (args.scheduler or args.dask_workers):
        return None
    from dask.distributed import default_client

    where = dask_client(stack, args.scheduler, args.dask_workers)
    log.info(f"Scanning {len(scenes)} scenes on {where}.")
    return default_client()


def _count_printer(ships):
    """Print a scene's count as it is written (and the ships placed in a synthetic one)."""
    def report(name, result):
        inside = "" if result.counts["aoi"].isna().all() else " (" + ", ".join(
            f"{aoi}: {count}" for aoi, count in
            result.counts[["aoi", "count"]].itertuples(index=False)) + ")"
        placed = "" if ships is None else f" ({len(ships[name])} placed)"
        print(f"{name}: {result.count} ship{'' if result.count == 1 else 's'}"
              f"{inside}{placed}")
    return report


def _print_report(report, failed):
    """Skipped scenes, notes, the files written; exit 1 when a scene failed."""
    for name in report.skipped:
        print(f"{name}: scanned before, skipped (--overwrite to scan it again)")
    if report.excluded:
        log.info(f"{len(report.excluded)} *udm2* files given as scenes are not scanned: "
                 "they are usable-data masks, used beside their scenes.")
    if report.removed:
        log.info(f"Removed {len(report.removed)} temporary files of an interrupted run.")
    for name, message in report.messages:
        log.warning(f"{name}: {message}")
    if report.detections is not None:
        detections = report.detections
        mapped = int(detections["lon"].notna().sum()) if "lon" in detections else 0
        note = ("" if mapped == len(detections) else f"; {len(detections) - mapped} "
                "detections of scenes without CRS are in detections.csv only")
        log.info(f"Wrote detections.csv, detections.geojson ({mapped} points{note}), "
                 f"counts.csv, run.json and overlays to {report.path}")
    failed = {**failed, **report.failed}
    if failed:
        raise CommandError(_failures(failed, len(set(report.names) | set(failed))), 1)


def _failures(failed, total):
    """One line: how many of ``total`` scenes failed, and why each (name -> reason)."""
    others = " (the others were written)" if total > len(failed) else ""
    return (f"{len(failed)} of {total} scene{'s' if total > 1 else ''} could not be "
            f"scanned{others}: " + "; ".join(f"{name}: {str(why).rstrip('.')}"
                                             for name, why in failed.items()))


#: Rasters that a folder given as a scene holds and that are scanned, with the
#: images that Pillow reads (``sklship.scenes.sources.PILLOW_SUFFIXES``).
RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt")


def _in_folder(path):
    """``[path]``, or when ``path`` is a folder (not a Sentinel-2 product), the
    scene files and Sentinel-2 products in it, by name (not inside its
    subfolders; masks named ``udm2`` are left out later, as in a glob)."""
    from ..scenes.safe import is_safe_product

    if not Path(path).is_dir() or is_safe_product(path):
        return [path]
    from ..scenes.sources import PILLOW_SUFFIXES

    suffixes = RASTER_SUFFIXES + PILLOW_SUFFIXES
    files = sorted(file for file in Path(path).iterdir()
                   if (file.is_file() and file.suffix.lower() in suffixes)
                   or is_safe_product(file))
    if not files:
        raise CommandError(f"folder {path} holds no scene files ({', '.join(suffixes)}) "
                           "and no Sentinel-2 product (.SAFE folder or zip)", 1)
    log.info(f"{path}: {len(files)} scene files.")
    return files


def _products(files, max_cloud):
    """The scenes with each Sentinel-2 product read as one; the products that
    cannot be read, with why; and how many were skipped (and reported) for
    clouds above ``max_cloud``."""
    from ..scenes.safe import is_safe_product, safe_scene

    scenes, failed, skipped = [], {}, 0
    for file in files:
        if not is_safe_product(file):
            scenes.append(file)
            continue
        try:
            scene = safe_scene(file)
        except (OSError, ValueError) as exc:  # named by the product, not its metadata
            product = Path(file).parent if Path(file).suffix == ".xml" else Path(file)
            failed[product.stem] = str(exc).rstrip(".")
            continue
        if max_cloud is not None and scene.cloud_cover is not None \
                and scene.cloud_cover > max_cloud:
            print(f"{scene.name}: skipped (cloud cover {scene.cloud_cover:g} % is above "
                  f"{max_cloud:g} %)")
            skipped += 1
            continue
        scenes.append(scene)
    return scenes, failed, skipped


def _existing(files):
    """The scene files given that exist (URLs and GDAL paths are taken as they are),
    and the others by name, with why."""
    from ..scenes.sources import is_remote

    gone = [f for f in files if not is_remote(str(f)) and not Path(f).exists()]
    return ([f for f in files if f not in gone],
            {Path(f).stem: f"scene file {f} does not exist" for f in gone})


def _stac_scenes(args, asset, scenes):
    """``scenes`` and the items of ``--stac``; report skipped ones; also return failed ones."""
    if args.stac is None:
        return scenes, {}
    from ..scenes.stac import read_stac

    try:
        items, skipped, failed = read_stac(args.stac, asset=asset, max_cloud=args.max_cloud)
    except (OSError, ValueError) as exc:
        raise bad_file(exc) from exc
    for name, why in skipped.items():
        print(f"{name}: skipped ({why})")
    log.info(f"{args.stac}: {len(items)} STAC items to scan ({asset!r} assets), "
             f"{len(skipped)} skipped, {len(failed)} without that asset.")
    return scenes + list(items), failed


def _activity(args):
    import matplotlib

    matplotlib.use("Agg")

    from ..scenes.activity import port_activity, read_counts
    from ..scenes.display import ActivityDisplay

    try:
        counts = read_counts(args.counts)
    except (OSError, ValueError) as exc:
        raise bad_file(exc) from exc
    try:  # its warnings are notes (sklship.cli.main)
        activity = port_activity(counts, freq=args.freq,
                                 min_valid_fraction=args.min_valid_fraction,
                                 min_clear=args.min_clear, base=args.base)
    except ValueError as exc:
        raise CommandError(str(exc), 2) from exc
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
