"""The store interface, the same checks on a local directory and on a real moto S3 server."""
import pickle

import pytest

from runfleet import Store
from runfleet.store import LocalStore, ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return Store(str(tmp_path / "st"))
    moto = request.getfixturevalue("moto_s3")
    return Store(f"s3://{moto['bucket']}/st", moto["storage_options"])


def test_factory_picks_the_implementation(tmp_path):
    assert type(Store(str(tmp_path))) is LocalStore and Store(str(tmp_path)).is_local
    assert type(Store(f"file://{tmp_path}")) is LocalStore
    assert type(Store("memory://x")) is ObjectStore
    s3 = Store("s3://bucket/prefix/", {"key": "k", "secret": "very-secret"})
    assert type(s3) is ObjectStore and s3.url == "s3://bucket/prefix"
    assert "very-secret" not in repr(s3)
    back = pickle.loads(pickle.dumps(s3))  # what a worker receives
    assert type(back) is ObjectStore and back.storage_options == s3.storage_options


def test_store_operations(store):
    a, b = store.join("s", "runs", "a", "x.json"), store.join("s", "runs", "b", "y.json")
    assert store.read_bytes(a) is None and not store.exists(a)
    store.write_json_atomic(a, {"v": 1})
    assert store.read_json(a) == {"v": 1} and store.exists(a)
    assert store.create_exclusive(b, b"first") is True
    assert store.create_exclusive(b, b"second") is False
    assert store.read_bytes(b) == b"first"
    assert sorted(store.find(store.join("s"))) == sorted([a, b])
    assert store.read_many([a, b, store.join("s", "missing")]) == {a: b'{\n "v": 1\n}', b: b"first"}
    with store.open(store.join("s", "runs", "a", "z.txt"), "wb") as f:
        f.write(b"z")
    store.remove(b)
    store.remove(b)  # absent: no error
    store.remove_tree(store.join("s", "runs", "a"))
    assert store.find(store.join("s")) == []
    store.check_writable()
    assert store.find(store.url) == []  # the probe leaves no trace
    again = pickle.loads(pickle.dumps(store))
    assert type(again) is type(store) and again.url == store.url


def test_unwritable_local_store_names_the_store(tmp_path):
    from runfleet import InputError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match=f"store {blocker}/st: cannot be written"):
        Store(str(blocker / "st")).check_writable()
