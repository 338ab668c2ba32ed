"""Steps the commands share: reading chips, models and folders, and writing files.

Failures become :class:`~sklship.cli.arguments.CommandError`: status 1 for a
missing or bad file, 2 for a bad argument.
"""

import logging
import re

from ..estimators.zoo import make_model
from .arguments import CommandError, bad_file

log = logging.getLogger("sklship")


def load_data(args):
    """(X, y, scene ids, description) from --data, else synthetic chips."""
    from ..datasets import load_shipsnet, make_ships

    if args.data is None:
        data = make_ships(args.n_samples, image_size=args.image_size,
                          random_state=args.seed)
        what = (f"{len(data.target)} synthetic {args.image_size}x{args.image_size} "
                "chips (make_ships)")
    else:
        try:
            data = load_shipsnet(args.data)
        except (OSError, ValueError) as exc:
            raise bad_file(exc) from exc
        what = f"{len(data.target)} chips from {args.data}"
    n_ships = int(data.target.sum())
    return (data.images, data.target, data.scene_id,
            f"{what}: {n_ships} ships, {len(data.target) - n_ships} without")


def configured(name, y, seed, epochs=None, params=()):
    """The named model with the seed, epochs and KEY=VALUE parameters applied."""

    model = make_model(name, y, random_state=seed)
    settable = model.get_params()
    updates = {"epochs": epochs} if epochs is not None and "epochs" in settable else {}
    for key, value in params:
        if key not in settable:
            raise CommandError(
                f"--param {key}: {name} has no parameter {key!r}; it has "
                f"{', '.join(sorted(k for k in settable if '__' not in k))}", 2)
        updates[key] = value
    return model.set_params(**updates)


def save_estimator(estimator, path):
    """Write a .joblib file with joblib, anything else in the native format."""
    import joblib

    from .._io import atomic_path
    from ..estimators.persistence import save_model

    try:
        if path.suffix == ".joblib":
            with atomic_path(path) as tmp:
                joblib.dump(estimator, tmp)
        else:
            save_model(estimator, path)
    except TypeError as exc:
        raise CommandError(f"--out {path}: {exc}", 2) from exc
    except OSError as exc:
        raise bad_file(exc) from exc


def load_estimator(path):
    """A model file written by 'sklship train' (joblib or native)."""
    import joblib

    from ..estimators.persistence import load_model

    try:
        if path.suffix == ".joblib":
            if not path.is_file():
                raise FileNotFoundError(f"model file {path} does not exist.")
            return joblib.load(path)
        return load_model(path)
    except (OSError, ValueError, EOFError) as exc:
        raise bad_file(exc) from exc


def is_model_file(path):
    """Whether ``path`` is a saved model (joblib, or sklship's zip with its manifest)."""
    import zipfile

    if path.suffix == ".joblib":
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            return "sklship.json" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def out_folder(path):
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise bad_file(exc) from exc
    return path


def write_text(path, text):
    from .._io import atomic_write

    try:
        with atomic_write(path) as file:
            file.write(text)
    except OSError as exc:
        raise bad_file(exc) from exc


def save_display(display, path):
    """Write a display's figure (a bad file on failure), then close it."""
    import matplotlib.pyplot as plt

    try:
        display.savefig(path)
    except OSError as exc:
        raise bad_file(exc) from exc
    finally:
        plt.close(display.figure_)


def fitting(step):
    """Run a fit or search; parameter errors become bad-argument errors."""
    try:
        return step()
    except (ValueError, TypeError) as exc:
        raise CommandError(str(exc).splitlines()[0], 2) from exc


def file_stem(name):
    return re.sub(r"[^\w.-]+", "_", str(name))


def dask_client(stack, scheduler, n_workers):
    """Enter a Dask client and joblib's Dask backend; say where the fits run."""
    import joblib

    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise CommandError("--scheduler and --dask-workers need Dask, an optional "
                           'dependency: pip install "sklship[dask]"', 2) from exc
    if scheduler:
        try:
            stack.enter_context(Client(scheduler, timeout="10s"))
        except (OSError, TimeoutError, ValueError) as exc:
            raise CommandError(f"--scheduler {scheduler}: cannot connect ({exc})",
                               2) from exc
        where = f"the Dask cluster at {scheduler}"
    else:
        # One thread per worker process: TensorFlow's seeding is per process.
        cluster = stack.enter_context(LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=None))
        stack.enter_context(Client(cluster))
        where = f"a local Dask cluster of {n_workers} workers"
    stack.enter_context(joblib.parallel_config(backend="dask"))
    return where
