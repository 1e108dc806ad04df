import hashlib
import json
import subprocess
import sys

import pytest

from gantry_gradio import JoinKey


def test_from_dict_is_gantry_md5_of_sorted_json():
    d = {"user": "alice", "text": "Hello there", "n": 3}
    expected = hashlib.md5(json.dumps(d, sort_keys=True).encode()).hexdigest()
    assert JoinKey.from_dict(d) == expected
    # A fixed vector: md5('{"a": 1}'), what the original SDK gave for this dict.
    assert JoinKey.from_dict({"a": 1}) == "42b7b4f2921788ea14dac5566e6f06d0"


def test_from_dict_ignores_key_order_and_is_stable_across_processes():
    d1 = {"b": [1, 2], "a": {"y": 1, "x": 2}}
    d2 = {"a": {"x": 2, "y": 1}, "b": [1, 2]}
    here = JoinKey.from_dict(d1)
    assert here == JoinKey.from_dict(d2)
    code = (
        "import sys, json; from gantry_gradio import JoinKey; "
        "print(JoinKey.from_dict(json.loads(sys.argv[1])))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, json.dumps(d2)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == here


@pytest.mark.parametrize("bad", [None, "text", ["a"], 3])
def test_from_dict_refuses_non_dicts(bad):
    with pytest.raises(TypeError):
        JoinKey.from_dict(bad)
