import json

import pytest

from harness.errors import HarnessError
from harness.generation.store import ResponseStore


def rec(sid, response="r", fp="f" * 32, task="toy_count", ver="1", gh="g", sh="h"):
    return {"fingerprint": fp, "task": task, "task_version": ver, "sample_id": sid, "sample_hash": sh, "gen_hash": gh, "response": response}


def test_append_and_load_roundtrip(tmp_path):
    store = ResponseStore(tmp_path)
    store.append([rec("a"), rec("b", "two")])
    store.append([rec("c")])
    got = store.load("f" * 32, "toy_count")
    assert {k[2]: v["response"] for k, v in got.items()} == {"a": "r", "b": "two", "c": "r"}
    assert store.load("e" * 32, "toy_count") == {}


def test_first_record_for_a_key_wins(tmp_path):
    store = ResponseStore(tmp_path)
    store.append([rec("a", "first")])
    store.append([rec("a", "second")])
    assert store.load("f" * 32, "toy_count")[("1", "g", "a", "h")]["response"] == "first"


def test_sample_hash_is_part_of_the_key_and_old_records_never_match(tmp_path):
    store = ResponseStore(tmp_path)
    store.append([rec("a", "for data 1", sh="h1"), rec("a", "for data 2", sh="h2")])
    got = store.load("f" * 32, "toy_count")
    assert got[("1", "g", "a", "h1")]["response"] == "for data 1"
    assert got[("1", "g", "a", "h2")]["response"] == "for data 2"
    old = {k: v for k, v in rec("b").items() if k != "sample_hash"}  # written before sample hashes
    with open(store.file_for("f" * 32, "toy_count"), "a") as f:
        f.write(json.dumps(old) + "\n")
    assert ("1", "g", "b", "") in store.load("f" * 32, "toy_count")


def test_generation_lock_makes_a_second_process_wait(tmp_path):
    import subprocess
    import sys
    import time

    store = ResponseStore(tmp_path)
    waited = []
    code = (
        "import sys, time; from harness.generation.store import ResponseStore; s = ResponseStore(sys.argv[1]); "
        "t = time.time(); ctx = s.generation_lock('f' * 32, 'toy_count', on_wait=lambda: print('waiting', flush=True)); "
        "ctx.__enter__(); print(f'got {time.time() - t:.2f}', flush=True)"
    )
    with store.generation_lock("f" * 32, "toy_count", on_wait=lambda: waited.append(1)):
        proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert proc.poll() is None  # still waiting for our lock
    out = proc.communicate(timeout=30)[0].split()
    assert out[0] == "waiting" and out[1] == "got" and float(out[2]) >= 0.3
    assert waited == []


def test_torn_last_line_is_ignored_then_cut_before_next_append(tmp_path):
    store = ResponseStore(tmp_path)
    store.append([rec("a"), rec("b")])
    path = store.file_for("f" * 32, "toy_count")
    with open(path, "ab") as f:
        f.write(b'{"fingerprint": "fff", "task": "toy_co')  # a kill mid-write
    assert set(k[2] for k in store.load("f" * 32, "toy_count")) == {"a", "b"}
    store.append([rec("c")])
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)
    assert set(k[2] for k in store.load("f" * 32, "toy_count")) == {"a", "b", "c"}


def test_corrupt_middle_line_is_an_error_and_the_file_is_untouched(tmp_path):
    store = ResponseStore(tmp_path)
    store.append([rec("a"), rec("b")])
    path = store.file_for("f" * 32, "toy_count")
    lines = path.read_bytes().splitlines(keepends=True)
    broken = lines[0] + b"not json at all\n" + lines[1]
    path.write_bytes(broken)
    with pytest.raises(HarnessError, match=r"corrupt response store record at .*toy_count.jsonl:2"):
        store.load("f" * 32, "toy_count")
    assert path.read_bytes() == broken
    with pytest.raises(HarnessError):  # valid JSON without the key fields is corrupt too
        path.write_bytes(lines[0] + b'{"x": 1}\n')
        store.load("f" * 32, "toy_count")


def test_append_rejects_incomplete_records(tmp_path):
    store = ResponseStore(tmp_path)
    with pytest.raises(ValueError):
        store.append([{"fingerprint": "f", "task": "t"}])
    with pytest.raises(ValueError):
        store.append([rec("a"), rec("b", task="other")])
