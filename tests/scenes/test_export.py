"""Detections as a GeoDataFrame: the GeoJSON's points, in lon/lat, for geopandas."""

import io
import sys

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from sklship.scenes.export import detections_geodataframe, detections_geojson


@pytest.fixture
def detections():
    """Two ships of a UTM 11N scene (x, y every kilometre) and one of a scene without CRS."""
    x = np.array([500000.0, 501000.0])
    y = np.array([3700000.0, 3699000.0])
    lon, lat = Transformer.from_crs("EPSG:32611", "EPSG:4326", always_xy=True).transform(x, y)
    return pd.DataFrame({
        "scene": ["utm", "utm", "plain"], "datetime": ["2017-07-03T18:00:00"] * 3,
        "row": [10.0, 343.333, 5.5], "col": [20.0, 353.333, 7.25],
        "probability": [0.91, 0.87, 0.99], "x": [*x, np.nan], "y": [*y, np.nan],
        "lon": [*lon, np.nan], "lat": [*lat, np.nan], "crs": ["EPSG:32611"] * 2 + [None]})


def test_geodataframe_holds_the_geojson_points_in_lon_lat(detections):
    geopandas = pytest.importorskip("geopandas")
    frame = detections_geodataframe(detections)
    assert isinstance(frame, geopandas.GeoDataFrame)
    assert frame.crs.to_epsg() == 4326
    # The scene without CRS is left out; the other columns stay as they were.
    assert list(frame.index) == [0, 1]
    pd.testing.assert_frame_equal(pd.DataFrame(frame.drop(columns="geometry")),
                                  detections.iloc[:2])
    np.testing.assert_array_equal(frame.geometry.x, detections["lon"][:2])
    np.testing.assert_array_equal(frame.geometry.y, detections["lat"][:2])
    # Back to the scene's CRS: its x, y within a millimetre.
    utm = frame.to_crs("EPSG:32611")
    np.testing.assert_allclose(utm.geometry.x, detections["x"][:2], rtol=0, atol=1e-3)
    np.testing.assert_allclose(utm.geometry.y, detections["y"][:2], rtol=0, atol=1e-3)
    # The same points as detections.geojson (written to 1e-8 degree).
    written = geopandas.read_file(io.StringIO(detections_geojson(detections)))
    np.testing.assert_allclose(written.geometry.x, frame.geometry.x, rtol=0, atol=5e-9)
    np.testing.assert_allclose(written.geometry.y, frame.geometry.y, rtol=0, atol=5e-9)
    assert list(written["scene"]) == ["utm", "utm"]


def test_geodataframe_without_georeference_and_errors(detections, monkeypatch):
    pytest.importorskip("geopandas")
    pixels = detections.drop(columns=["x", "y", "lon", "lat", "crs"])
    frame = detections_geodataframe(pixels)
    assert len(frame) == 0 and frame.crs.to_epsg() == 4326
    with pytest.raises(TypeError, match="detections must be a pandas DataFrame.*got dict"):
        detections_geodataframe(detections.to_dict())
    monkeypatch.setitem(sys.modules, "geopandas", None)
    with pytest.raises(ImportError, match=r"needs geopandas: pip install 'sklship\[geo\]'"):
        detections_geodataframe(detections)
