"""ChipMetadataEncoder: scene fixed effects, location bins and their cross."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklship import ChipMetadataEncoder, make_ships


@pytest.fixture(scope="module")
def frame():
    return make_ships(200, image_size=16, n_scenes=4, random_state=0, as_frame=True).frame


GROUPS = ("scene_id", "longitude_bin", "latitude_bin", "location_cross")


def groups_of(names):
    return np.array([next(g for g in GROUPS if name.startswith(g + "_")) for name in names])


def test_one_column_per_scene_bin_and_cell(frame):
    encoder = ChipMetadataEncoder(n_bins=3).fit(frame)
    Z = encoder.transform(frame)
    names = encoder.get_feature_names_out()
    assert Z.dtype == np.uint8 and Z.shape == (200, len(names))
    groups = groups_of(names)
    assert sorted(set(groups)) == ["latitude_bin", "location_cross", "longitude_bin",
                                   "scene_id"]
    for group in set(groups):  # every chip is in exactly one column of each group
        np.testing.assert_array_equal(Z[:, groups == group].sum(axis=1), 1)
    scene_columns = [f"scene_id_{s}" for s in sorted(frame.scene_id.unique())]
    np.testing.assert_array_equal(
        Z[:, np.isin(names, scene_columns)].argmax(axis=1),
        np.searchsorted(sorted(frame.scene_id.unique()), frame.scene_id))
    # The cross is the pair of the chip's own bins.
    lon = names[groups == "longitude_bin"][Z[:, groups == "longitude_bin"].argmax(1)]
    lat = names[groups == "latitude_bin"][Z[:, groups == "latitude_bin"].argmax(1)]
    cross = names[groups == "location_cross"][Z[:, groups == "location_cross"].argmax(1)]
    expected = [f"location_cross_{a.rsplit('_', 1)[1]}_{b.rsplit('_', 1)[1]}"
                for a, b in zip(lon, lat, strict=True)]
    assert cross.tolist() == expected


def test_quantile_and_uniform_bins(frame):
    quantile = ChipMetadataEncoder(["longitude"], n_bins=4).fit(frame)
    counts = quantile.transform(frame).sum(axis=0)
    assert counts.tolist() == [50, 50, 50, 50]
    uniform = ChipMetadataEncoder(["longitude"], n_bins=4, strategy="uniform").fit(frame)
    edges = uniform.discretizer_.bin_edges_[0]
    np.testing.assert_allclose(np.diff(edges), np.diff(edges)[0])


def test_unseen_scenes_and_far_locations(frame):
    encoder = ChipMetadataEncoder(n_bins=3).fit(frame)
    names = encoder.get_feature_names_out()
    new = pd.DataFrame({"scene_id": ["elsewhere"], "longitude": [-200.0],
                        "latitude": [100.0]})
    row = encoder.transform(new)[0]
    assert row[groups_of(names) == "scene_id"].sum() == 0  # no fixed effect
    assert names[row == 1].tolist()[:2] == ["longitude_bin_0", "latitude_bin_2"]


def test_arrays_pipelines_and_column_transformer(frame):
    cross_only = ChipMetadataEncoder(["cross"], n_bins=3)
    from_array = cross_only.fit_transform(frame[["longitude", "latitude"]].to_numpy())
    from_frame = clone(cross_only).fit_transform(frame)
    np.testing.assert_array_equal(from_array, from_frame)
    frame = frame.assign(size=np.arange(len(frame)))
    transformer = ColumnTransformer(
        [("meta", ChipMetadataEncoder(n_bins=3), ["scene_id", "longitude", "latitude"]),
         ("size", "passthrough", ["size"])]).set_output(transform="pandas")
    out = transformer.fit_transform(frame)
    assert out.columns[0] == "meta__scene_id_synthetic_000"
    assert out.columns[-1] == "size__size"
    model = make_pipeline(ChipMetadataEncoder(n_bins=3), LogisticRegression())
    assert model.fit(frame, frame.target).score(frame, frame.target) > 0.5


@pytest.mark.parametrize("params, X, message", [
    ({}, "frame_without_latitude",
     r"needs the columns \['scene_id', 'longitude', 'latitude'\] of X; X has no "
     r"column \['latitude'\]"),
    ({}, "two_columns", "expects X with the 3 columns"),
    ({"features": ["scene", "harbour"]}, "frame", "features must name"),
    ({"n_bins": 1}, "frame", "'n_bins' parameter"),
    ({"features": ["longitude"]}, "text_longitude", "numeric longitude and latitude"),
])
def test_bad_input_is_named(frame, params, X, message):
    inputs = {
        "frame": frame,
        "frame_without_latitude": frame.drop(columns="latitude"),
        "two_columns": frame[["longitude", "latitude"]].to_numpy(),
        "text_longitude": frame.assign(longitude="west"),
    }
    with pytest.raises(ValueError, match=message):
        ChipMetadataEncoder(**params).fit(inputs[X])


def test_columns_read_metadata_from_anywhere_in_x(frame):
    expected = ChipMetadataEncoder(n_bins=3).fit(frame)
    # By name, under other names, among other columns.
    renamed = frame.rename(columns={"scene_id": "scene", "longitude": "lon",
                                    "latitude": "lat"}).assign(extra=1.5)
    by_name = ChipMetadataEncoder(n_bins=3, columns=["scene", "lon", "lat"]).fit(renamed)
    np.testing.assert_array_equal(by_name.transform(renamed), expected.transform(frame))
    assert by_name.n_features_in_ == renamed.shape[1]
    assert list(by_name.get_feature_names_out()) == list(expected.get_feature_names_out())
    # By position, in an array with other columns first.
    wide = np.column_stack([np.zeros(len(frame)), frame.longitude, frame.latitude])
    location = ["longitude", "latitude"]
    by_position = ChipMetadataEncoder(features=location, n_bins=3, columns=[1, 2]).fit(wide)
    only = ChipMetadataEncoder(features=location, n_bins=3).fit(frame[location].to_numpy())
    np.testing.assert_array_equal(by_position.transform(wide),
                                  only.transform(frame[location].to_numpy()))
    assert by_position.n_features_in_ == 3


@pytest.mark.parametrize("columns, X, message", [
    ([0], np.zeros((5, 3)), r"columns must select the 2 columns \['longitude', 'latitude'\]"),
    ([0, 1], np.zeros((5, 1)), r"got X with 1 feature\(s\)"),
    ([0, 5], np.zeros((5, 3)), "positions \\[5\\] outside X, which has 3 columns"),
    (["lon", "lat"], np.zeros((5, 3)), "no column names"),
])
def test_bad_columns_are_named(columns, X, message):
    encoder = ChipMetadataEncoder(features=("longitude", "latitude"), columns=columns)
    with pytest.raises(ValueError, match=message):
        encoder.fit(X)


def test_transform_checks_the_fitted_width():
    X = np.random.RandomState(0).normal(size=(20, 4))
    encoder = ChipMetadataEncoder(features=("longitude", "latitude"), columns=(0, 1)).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but ChipMetadataEncoder is "
                                         "expecting 4"):
        encoder.transform(X[:, :3])
