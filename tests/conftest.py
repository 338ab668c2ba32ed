"""Shared fixtures."""

import os
from pathlib import Path

import numpy as np
import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Test models are tiny: with one worker per core, one TensorFlow thread per
    # worker runs them faster than threads competing across workers.
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    # The same for the processes tests start (benchmarks' quick runs, fresh-process
    # loads, Dask workers), which would otherwise each run two threads per core.
    os.environ.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
                      OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def pytest_collection_modifyitems(config, items):
    """Run the slow tests first: side by side on the workers, with the short ones
    filling the end, so that no worker is left alone with a long test."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"
SHIPSNET_DIR = SHARED_DIR / "data" / "shipsnet"
MOBILENET_V2_TFLITE = "mobilenet_v2_1.0_224_quant.tflite"


@pytest.fixture(scope="session")
def shipsnet_dir():
    """The read-only real ShipsNet copy at ``../shared/data/shipsnet``."""
    if not SHIPSNET_DIR.exists():
        pytest.skip(f"real ShipsNet copy not found at {SHIPSNET_DIR}")
    return SHIPSNET_DIR


@pytest.fixture(scope="session")
def mobilenet_v2_tflite():
    """Google's quantized ImageNet MobileNetV2 as a TFLite file.

    Taken from ``$SKLSHIP_WEIGHTS_DIR`` when it holds the file, else from
    ``../shared/weights`` beside the repository.
    """
    folders = [os.environ.get("SKLSHIP_WEIGHTS_DIR"), SHARED_DIR / "weights"]
    for folder in filter(None, folders):
        path = Path(folder) / MOBILENET_V2_TFLITE
        if path.is_file():
            return path
    pytest.skip(f"{MOBILENET_V2_TFLITE} not found in $SKLSHIP_WEIGHTS_DIR or "
                f"{SHARED_DIR / 'weights'}")


class BrightCentre:
    """A stand-in 16-pixel chip model: the share of bright pixels in the window's centre.

    Deterministic, so tests of scene geometry (resolution, masks, STAC) are
    about geometry, not about training.
    """

    classes_ = np.array([0, 1])
    input_shape_ = (16, 16, 3)
    X_dtype_ = np.dtype(np.uint8)

    def __init__(self, chip_resolution=3.0):
        self.chip_resolution = chip_resolution

    def predict_proba(self, X):
        centre = X[:, 4:12, 4:12, 0] > 128
        p = np.clip(centre.mean(axis=(1, 2)) * 2.5, 0, 1)
        return np.column_stack([1 - p, p])


#: Ship centres (row, col) of :func:`ship_scene`, in its 3 m pixels.
SHIPS = ((24, 30), (60, 90), (72, 40))


@pytest.fixture(scope="session")
def bright_centre():
    """The :class:`BrightCentre` stand-in model class."""
    return BrightCentre


@pytest.fixture(scope="session")
def ship_scene():
    """A 96 x 128 3 m scene: dark water, three 4 x 8 pixel hulls at :data:`SHIPS`."""
    scene = np.full((96, 128, 3), 30, dtype=np.uint8)
    for row, col in SHIPS:
        scene[row - 2:row + 2, col - 4:col + 4] = 220
    scene.setflags(write=False)
    return scene, SHIPS


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """One BLAS thread per test process.

    OpenBLAS threads fight TensorFlow's for the two cores: the logistic
    baseline fits 30x slower without this limit.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def write_geotiff():
    """A function writing a (bands, height, width) array as a GeoTIFF with rasterio.

    Defaults: UTM zone 11N (EPSG:32611), ``res`` = 3 m pixels from (500000,
    3700000), the tag TIFFTAG_DATETIME 2017:07:05 18:08:18.
    """
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    def write(path, bands, *, crs="EPSG:32611", nodata=None, tags=None, res=3):
        count, height, width = bands.shape
        georeference = {} if crs is None else {
            "crs": crs, "transform": from_origin(500000, 3700000, res, res)}
        with rasterio.open(path, "w", driver="GTiff", height=height, width=width,
                           count=count, dtype=bands.dtype, nodata=nodata,
                           **georeference) as dataset:
            dataset.write(bands)
            dataset.update_tags(**({"TIFFTAG_DATETIME": "2017:07:05 18:08:18"}
                                   if tags is None else tags))
        return path

    return write
