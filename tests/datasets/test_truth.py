"""The one reader of ship marks (truth.json), used by scoring, chips and adapt."""

import json

import numpy as np
import pytest

from sklship.datasets import read_truth
from sklship.evaluation import read_truth as evaluation_read_truth


def test_reads_every_kind_from_a_file_or_a_dict(tmp_path):
    content = {"a.png": {"big": [[1, 2], [3, 4]], "small": [], "boxes": [[0, 0, 5, 6]]},
               "b.tif": {"negatives": [[7, 8]]}}
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(content))
    # Its own output (arrays) reads again, unchanged.
    for truth in (read_truth(path), read_truth(content), read_truth(read_truth(content))):
        np.testing.assert_array_equal(truth["a.png"]["big"], [[1, 2], [3, 4]])
        np.testing.assert_array_equal(truth["a.png"]["boxes"], [[0, 0, 5, 6]])
        np.testing.assert_array_equal(truth["b.tif"]["negatives"], [[7, 8]])
        assert truth["a.png"]["small"].shape == truth["b.tif"]["big"].shape == (0, 2)
        assert truth["b.tif"]["boxes"].shape == (0, 4)
    assert evaluation_read_truth is read_truth


@pytest.mark.parametrize("content, match", [
    ("not json", "is not valid JSON"),
    ("[1, 2]", "must be a non-empty mapping"),
    ("{}", "must be a non-empty mapping"),
    ('{"a.png": [[1, 2]]}', "marks of scene 'a.png' must be a mapping"),
    ('{"a.png": {"big": [[1, 2]], "boats": []}}', r"unknown keys \['boats'\]"),
    ('{"a.png": {"big": [[1, 2, 3]]}}', r"scene 'a.png': big mark \[1, 2, 3\] is not"),
    ('{"a.png": {"big": [[1, "a"]]}}', r"is not \[col, row\]"),
    ('{"a.png": {"big": [[1, NaN]]}}', "of finite numbers"),
    ('{"a.png": {"small": {"x": 1}}}', "'small' must be a list"),
    ('{"a.png": {"boxes": [[5, 5, 1, 9]]}}', "with x1 > x0 and y1 > y0"),
    ('{"a.png": {"big": [[9, 9]], "boxes": [[0, 0, 5, 6]]}}',
     r"scene 'a.png': box \[0.0, 0.0, 5.0, 6.0\] holds no big or small mark"),
    ('{"a.png": {"big": [[1, 2]]}, "./a.png": {}}',
     "marks one scene file twice, as 'a.png' and './a.png'"),
])
def test_bad_files_name_the_file_the_scene_and_the_mark(tmp_path, content, match):
    path = tmp_path / "truth.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as error:
        read_truth(path)
    assert "truth.json" in str(error.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="gone.json' does not exist"):
        read_truth(tmp_path / "gone.json")
