"""Scoring detections against marked ships, and reading truth files."""


import numpy as np
import pandas as pd
import pytest

from sklship.evaluation.scoring import read_truth, score_detections, score_scan
from sklship.scenes.scan import ScanResult


def detections(*rows):
    """A detections table from (row, col, probability) triples."""
    return pd.DataFrame(rows, columns=["row", "col", "probability"])


def test_hits_duplicates_false_alarms_and_ignored():
    found = detections((100, 200, 0.99), (110, 230, 0.9), (400, 50, 0.8),
                       (252, 601, 0.7), (300, 300, 0.6))
    ships = [[205, 98], [300, 330], [900, 900]]  # [col, row]
    score = score_detections(found, ships, ignore=[[600, 250]], tolerance=40)
    assert score.as_dict() == {
        "hits": 2, "misses": 1, "false_alarms": 1, "duplicates": 1, "ignored": 1,
        "n_marked": 3, "precision": 0.5, "recall": 2 / 3, "count_error": 1,
    }
    assert score.detections["outcome"].tolist() == [
        "hit", "duplicate", "false alarm", "ignored", "hit"]
    assert score.detections["ship"].tolist() == [0, 0, -1, -1, 1]


def test_most_probable_detection_takes_the_nearest_free_ship_first():
    # Two ships 30 px apart, two detections between them: one to one.
    ships = pd.DataFrame({"row": [100.0, 100.0], "col": [100.0, 130.0]})
    found = detections((100, 120, 0.6), (100, 110, 0.9))
    score = score_detections(found, ships, tolerance=40)
    assert (score.hits, score.duplicates, score.misses) == (2, 0, 0)
    # sorted by probability: the 0.9 detection took the nearer ship (col 100)
    assert score.detections["ship"].tolist() == [0, 1]


def test_tolerance_decides_hit_or_false_alarm():
    found = detections((100, 150, 0.9))
    assert score_detections(found, [[100, 100]], tolerance=49).false_alarms == 1
    assert score_detections(found, [[100, 100]], tolerance=50).hits == 1


def test_no_detections_and_no_ships():
    empty = detections()
    score = score_detections(empty, [[10, 10]])
    assert (score.hits, score.misses, score.precision, score.recall) == (0, 1, 1.0, 0.0)
    score = score_detections(detections((5, 5, 0.9)), [])
    assert (score.false_alarms, score.recall, score.precision) == (1, 1.0, 0.0)


def test_score_scan_reads_the_result():
    result = ScanResult(detections=detections((40, 40, 0.9)), probabilities=np.zeros((2, 2)),
                        window=80, stride=8, threshold=0.5, engine="shared",
                        scene_shape=(100, 100, 3))
    assert score_scan(result, [[42, 38]]).hits == 1
    with pytest.raises(TypeError, match="result must be a ScanResult"):
        score_scan("detections.csv", [[42, 38]])


@pytest.mark.parametrize("ships, message", [
    ([[1, 2, 3]], r"list of \[col, row\] pairs.*shape \(1, 3\)"),
    ([1, 2], r"list of \[col, row\] pairs.*shape \(2,\)"),
    ([["a", "b"]], r"list of \[col, row\] pairs"),
    ([[1, np.nan]], "NaN or infinite"),
    (pd.DataFrame({"x": [1], "y": [2]}), "columns 'row' and 'col'"),
])
def test_bad_truth_is_rejected(ships, message):
    with pytest.raises(ValueError, match=message):
        score_detections(detections((5, 5, 0.9)), ships)


@pytest.mark.parametrize("tolerance", [0, -5])
def test_tolerance_must_be_positive(tolerance):
    with pytest.raises(ValueError, match="'tolerance' parameter.*range \\(0.0, inf\\)"):
        score_detections(detections(), [[1, 2]], tolerance=tolerance)


def test_shared_truth_file_reads(shipsnet_dir):
    truth = read_truth(shipsnet_dir.parent / "scenes" / "truth.json")
    assert {len(marks["big"]) for marks in truth.values()} <= set(range(1, 100))
