"""The storage under the file service: a local folder, or an S3 bucket on a real S3
server (moto's, started here on a free port of 127.0.0.1).

The fixtures ``s3_server`` and ``evidence_storage`` are also used by
tests/services/test_files.py, which runs every file-service test on both storages.
"""

import os
import secrets
import socket

import pytest

from app.services import storage as storage_module
from app.services.storage import LocalStorage, S3Location, S3Storage, StorageError

BUCKET = "yijia-evidence-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def url(self, prefix: str, bucket: str = BUCKET) -> str:
        return f"s3://{bucket}/{prefix}?endpoint={self.endpoint}&region=us-east-1"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def objects(self, prefix: str) -> list[str]:
        """Every key in the bucket under ``prefix``, read with a client of our own."""
        answer = self.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
        return sorted(item["Key"] for item in answer.get("Contents", ()))


@pytest.fixture(scope="session")
def s3_server():
    """A moto S3 server on 127.0.0.1 for the whole run, with the test bucket; the AWS
    credentials boto3 reads from the environment are fake ones, set here."""
    pytest.importorskip("moto")
    from moto.server import ThreadedMotoServer

    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    saved = {key: os.environ.get(key) for key in fake}
    os.environ.update(fake)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        made = S3Server(f"http://127.0.0.1:{port}")
        made.client().create_bucket(Bucket=BUCKET)
        yield made
    finally:
        server.stop()
        storage_module._clients.clear()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(params=["local", "s3"])
def evidence_storage(request, app):
    """Run the test on the local folder, then on S3 (a prefix of its own in the test
    bucket, so tests never see each other's objects). Returns the storage's name."""
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        prefix = f"t{secrets.token_hex(6)}"
        app.config["STORAGE_URL"] = server.url(prefix)
        app.config["TEST_S3_PREFIX"] = prefix
    return request.param


# ------------------------------------------------------------ the interface
def test_storage_follows_the_config(app, s3_server):
    assert isinstance(storage_module.storage(), LocalStorage)
    assert str(storage_module.storage().root) == app.config["UPLOAD_FOLDER"]
    app.config["STORAGE_URL"] = s3_server.url("p")
    chosen = storage_module.storage()
    assert isinstance(chosen, S3Storage)
    assert (chosen.location.bucket, chosen.location.prefix) == (BUCKET, "p")


def test_put_open_exists_delete_keys(app, evidence_storage):
    store = storage_module.storage()
    assert list(store.keys()) == []
    assert store.open("ab/nothing.jpg") is None and not store.exists("ab/nothing.jpg")
    store.put("ab/one.jpg", b"first", "image/jpeg")
    store.put("cd/two.pdf", b"%PDF-second", "application/pdf")
    assert store.exists("ab/one.jpg")
    opened = store.open("ab/one.jpg")
    try:
        assert (opened.stream.read(), opened.size) == (b"first", 5)
    finally:
        opened.stream.close()
    assert sorted(store.keys()) == ["ab/one.jpg", "cd/two.pdf"]
    store.delete("ab/one.jpg")
    store.delete("ab/one.jpg")  # deleting what is gone is not an error
    assert not store.exists("ab/one.jpg")
    assert list(store.keys()) == ["cd/two.pdf"]


def test_the_local_storage_never_overwrites(app):
    store = storage_module.storage()
    store.put("ab/x.jpg", b"first")
    with pytest.raises(FileExistsError):
        store.put("ab/x.jpg", b"second")
    opened = store.open("ab/x.jpg")
    with opened.stream as stream:
        assert stream.read() == b"first"


def test_s3_objects_land_under_the_prefix(app, s3_server):
    app.config["STORAGE_URL"] = s3_server.url("deploy/evidence")
    storage_module.storage().put("ab/x.jpg", b"bytes", "image/jpeg")
    head = s3_server.client().head_object(Bucket=BUCKET, Key="deploy/evidence/ab/x.jpg")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == 5
    assert list(storage_module.storage().keys()) == ["ab/x.jpg"]


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs.jpg", "ab/../../x", "a b.jpg", "", "ab//x"])
def test_keys_cannot_leave_the_storage(app, evidence_storage, key):
    with pytest.raises(ValueError):
        storage_module.storage().put(key, b"x")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("s3://bucket", ("bucket", "", None, None, "auto")),
        (
            "s3://b/evidence/prod?endpoint=http://10.0.0.5:9000&region=cn-east-1",
            ("b", "evidence/prod", "http://10.0.0.5:9000", "cn-east-1", "path"),
        ),
        (
            "s3://b/?endpoint=https://oss.example.cn&addressing=virtual",
            ("b", "", "https://oss.example.cn", None, "virtual"),
        ),
    ],
)
def test_storage_url_is_read(url, expected):
    where = S3Location.parse(url)
    assert (where.bucket, where.prefix, where.endpoint, where.region, where.addressing) == expected


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://bucket/x", "s3://"),
        ("s3:///prefix", "s3://"),
        ("s3://key:secret@bucket/x", "AWS_ACCESS_KEY_ID"),
        ("s3://bucket/x?endpont=http://x", "endpont"),
        ("s3://bucket/x?addressing=sideways", "addressing"),
        ("s3://bucket/../x", "storage key"),
    ],
)
def test_bad_storage_urls_are_refused(url, message):
    with pytest.raises(ValueError, match=message):
        S3Location.parse(url)


def test_an_unreachable_bucket_is_a_storage_error(app, s3_server):
    app.config["STORAGE_URL"] = s3_server.url("x", bucket="no-such-bucket")
    with pytest.raises(StorageError, match="writing an object failed"):
        storage_module.storage().put("ab/x.jpg", b"x")


# ---------------------------------------------------------- flask storage-check
def test_storage_check_writes_reads_and_deletes_a_probe(app, evidence_storage):
    result = app.test_cli_runner().invoke(args=["storage-check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("storage ok: ")
    assert "write" in result.output and "read" in result.output and "delete" in result.output
    where = "s3://" if evidence_storage == "s3" else "local folder"
    assert where in result.output
    assert list(storage_module.storage().keys()) == []  # the probe is gone


def test_storage_check_fails_loudly_on_a_missing_bucket(app, s3_server):
    app.config["STORAGE_URL"] = s3_server.url("x", bucket="no-such-bucket")
    result = app.test_cli_runner().invoke(args=["storage-check"])
    assert result.exit_code == 1
    assert "storage check failed" in result.output and "no-such-bucket" in result.output
