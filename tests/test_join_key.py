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


@pytest.mark.slow
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


def test_new_keys_are_unique_across_threads_and_a_forked_child():
    """New keys come from a per-thread pool of os.urandom bytes: threads must
    not share bytes, and a forked child must not repeat its parent's next keys."""
    import os
    import threading

    JoinKey.new()  # the parent's pool holds unread bytes when it forks
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next keys, to the parent, then out
        os.write(write, " ".join(JoinKey.new() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    parent = [JoinKey.new() for _ in range(100)]
    child = b""
    while chunk := os.read(read, 65536):
        child += chunk
    os.waitpid(pid, 0)
    assert len(child.split()) == 100 and not set(parent) & set(child.decode().split())

    per_thread: list[list[str]] = [[] for _ in range(8)]
    threads = [
        threading.Thread(
            target=lambda out: out.extend(JoinKey.new() for _ in range(5000)), args=(out,)
        )
        for out in per_thread
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [key for out in per_thread for key in out]
    assert len(set(keys)) == len(keys) == 40_000
    assert all(len(key) == 32 and int(key, 16) >= 0 for key in keys)
