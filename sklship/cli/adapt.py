"""The ``sklship adapt`` command: teach a model a port from marked scenes.

Parsing and printing only: the work is
:func:`sklship.shipped.adapt.adapt_model` and :meth:`AdaptResult.save
<sklship.shipped.adapt.AdaptResult.save>`.
"""

import logging
from pathlib import Path

from .arguments import CommandError, at_least, bad_file
from .files import fitting, is_model_file
from .scenes import add_setting_flags

log = logging.getLogger("sklship")

#: The scan settings that say how scenes are read, flags of adapt too.
READ_FLAGS = ("bands", "scale", "reflectance", "resolution")

DESCRIPTION = (
    "Fine-tune a model on scenes whose ships you marked (TRUTH_JSON: "
    '{"scene.png": {"big": [[col, row], ...], "small": [...], "boxes": [...]}}, '
    "scene files relative to its folder), scoring it first with each acquisition "
    "left out in turn (adapted on the others, scanned, and compared with the marks). "
    "Writes MODEL_FILE, for 'sklship scan --model MODEL_FILE', and the scores beside "
    "it as <MODEL_FILE stem>.scores.csv.")


def add_parser(commands, common):
    """Add ``adapt`` (arguments as :func:`sklship.cli.chips.add_parsers`)."""
    from ..shipped.adapt import EPOCHS

    adapt = commands.add_parser("adapt", parents=[common], description=DESCRIPTION,
                                help="teach a model a new port from marked scenes")
    adapt.add_argument("truth", type=Path, metavar="TRUTH_JSON")
    adapt.add_argument("--out", type=Path, required=True, metavar="MODEL_FILE",
                       help="the adapted model to write (sklship's native format)")
    adapt.add_argument("--model", default=None, metavar="NAME|FILE",
                       help="the model to start from: a shipped model's name or a "
                       "model file (default: the shipped model 'scan' picks for the "
                       "scenes, by their resolution, bands and tags)")
    adapt.add_argument("--epochs", type=at_least(1), default=EPOCHS, metavar="N",
                       help="fine-tuning epochs (default: %(default)s)")
    adapt.add_argument("--no-cv", dest="cross_validate", action="store_false",
                       help="adapt once on every scene, without the scores")
    adapt.add_argument("--seed", type=int, default=0,
                       help="seed of the chips and the training (default: %(default)s)")
    add_setting_flags(adapt, READ_FLAGS)
    adapt.set_defaults(run=_adapt, check=_check)


def _check(args):
    """What can be told before TensorFlow loads: the model file to write, the marks,
    and the model to start from (without ``--model``, the shipped model picked
    for the scenes, set as ``args.model``)."""
    from ..shipped.adapt import check_marks
    from ..shipped.registry import pick_for_scenes, shipped_or_file

    _check_out(args.out, args.truth)
    if args.model is not None:
        try:
            shipped_or_file(args.model)
        except ValueError as exc:
            raise CommandError(f"--model {exc}", 2) from exc
    try:
        marks, _ = check_marks(args.truth, args.cross_validate)
    except ValueError as exc:
        raise CommandError(str(exc).rstrip("."), 2) from exc
    if args.model is None:
        spec = fitting(lambda: pick_for_scenes([args.truth.parent / name for name in marks],
                                               args.bands, args.resolution,
                                               args.reflectance))
        log.info(f"Model: the shipped {spec.name!r} ({spec.sensor}, {spec.resolution:g} m), "
                 "picked for the scenes (--model NAME|FILE to choose).")
        args.model = spec.name


def _adapt(args):
    from ..shipped.adapt import adapt_model

    replaced = args.out.exists()
    try:
        result = adapt_model(args.truth, model=args.model, epochs=args.epochs,
                             cross_validate=args.cross_validate, random_state=args.seed,
                             progress=args.progress,
                             **{name: getattr(args, name) for name in READ_FLAGS})
    except ValueError as exc:
        raise CommandError(str(exc).rstrip("."), 2) from exc
    except OSError as exc:
        raise bad_file(exc) from exc
    if result.scores is not None:
        table = result.scores.groupby("group", sort=False)[
            ["marked", "found", "false_alarms", "duplicates"]].sum()
        print(table.to_string())
        print(f"left out in turn: {result.summary()}")
    try:
        scores = result.save(args.out)
    except OSError as exc:
        raise bad_file(exc) from exc
    print(f"{'replaced' if replaced else 'wrote'} {args.out} ({result.chips} chips; it "
          f"scans at threshold {result.model.threshold:g})"
          + ("" if scores is None else f" and {scores}"))


def _check_out(out, truth):
    """Refuse, before any training, a MODEL_FILE that would replace the user's data
    or cannot be written."""
    from ..datasets.truth import read_truth
    from ..estimators.persistence import PICKLE_SUFFIXES

    if out.suffix.lower() in PICKLE_SUFFIXES:
        raise CommandError(f"--out {out}: adapt writes sklship's own model format, which "
                           f"a {out.suffix} file would not be read as; give a .sklship "
                           "file", 2)
    if not out.parent.is_dir():
        raise CommandError(f"--out {out}: folder {out.parent} does not exist", 1)
    if out.is_dir():
        raise CommandError(f"--out {out} is a folder; give a model file", 2)
    if not out.exists():
        return
    try:
        inputs = {truth.resolve(), *((truth.parent / name).resolve()
                                     for name in read_truth(truth))}
    except (OSError, ValueError):
        inputs = {truth.resolve()}
    if out.resolve() in inputs or not is_model_file(out):
        raise CommandError(f"--out {out} exists and is not a model file; it would be "
                           "replaced: give another MODEL_FILE", 2)
