"""Evidence files: what is accepted, how it is stored, and who may download it.

Every test here runs twice: on the local folder (the default) and on an S3 bucket of
a real S3 server (``evidence_storage`` in tests/services/test_storage.py).
"""

import datetime as dt
import io

import pytest
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ServiceRecord, StoredFile
from app.services import files, fund
from app.services import storage as storage_module
from app.validation import InvalidValue
from tests.conftest import ROLES
from tests.factories import (
    jpeg,
    make_household,
    make_project,
    make_service_record,
    pdf,
    png,
    webp,
)
from tests.services.test_storage import evidence_storage, s3_server  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _on_both_storages(evidence_storage):  # noqa: F811 - the imported fixture
    """Every test of this module, on the local folder and on S3."""
    return evidence_storage


def service_record(community=None, project=None) -> ServiceRecord:
    """A service record delivered today to a household of ``community`` (of a new
    community when none is given)."""
    return make_service_record(
        make_household(community), delivered_on=dt.date.today(), project=project
    )


def on_disk(row: StoredFile) -> bool:
    """The file's bytes are in the storage (folder or bucket)."""
    return files.storage().exists(files.file_key(row))


def stored_bytes(key: str) -> bytes:
    opened = files.storage().open(key)
    assert opened is not None, key
    with opened.stream as stream:
        return stream.read()


def nothing_stored() -> bool:
    """No object in the storage, and nothing in the local folder either."""
    local = [p for p in files.upload_root().rglob("*") if p.is_file()]
    return not list(files.storage().keys()) and not local


# ------------------------------------------------------------------ accepted
@pytest.mark.parametrize(
    "name, data, content_type",
    [
        ("午餐.jpg", jpeg(), "image/jpeg"),
        ("photo.JPEG", jpeg(), "image/jpeg"),
        ("菜单.png", png(), "image/png"),
        ("x.webp", webp(), "image/webp"),
        ("三方协议.pdf", pdf(), "application/pdf"),
    ],
)
def test_good_files_are_stored_under_generated_names(app, request, name, data, content_type):
    record = service_record()
    (row,) = files.attach_files([(name, data)], kind="photo", service_record=record)
    db.session.commit()
    assert row.content_type == content_type
    assert row.original_name == name
    assert row.stored_name != name and name not in files.file_key(row)
    assert on_disk(row)
    keys = [files.file_key(row)] + ([files.thumbnail_key(row)] if row.thumbnail_name else [])
    if not app.config["STORAGE_URL"]:
        assert str(files.file_path(row)).startswith(app.config["UPLOAD_FOLDER"])
        assert files.file_path(row).is_file()
    else:  # in the bucket under the prefix, with its content type; nothing on this disk
        s3_server = request.getfixturevalue("s3_server")
        prefix = app.config["TEST_S3_PREFIX"]
        assert s3_server.objects(prefix) == sorted(f"{prefix}/{key}" for key in keys)
        head = s3_server.client().head_object(
            Bucket="yijia-evidence-test", Key=f"{prefix}/{keys[0]}"
        )
        assert head["ContentType"] == content_type
        assert not files.upload_root().exists()
    if content_type == "application/pdf":  # kept as uploaded, once checked
        assert stored_bytes(files.file_key(row)) == data
    assert (row.thumbnail_name is not None) == content_type.startswith("image/")
    # the file takes its record's areas, so it is scoped like it
    assert (row.street_id, row.community_id, row.household_id) == (
        record.street_id,
        record.community_id,
        record.household_id,
    )


def test_photo_metadata_and_gps_are_stripped(app):
    record = service_record()
    (row,) = files.attach_files(
        [("gps.jpg", jpeg(size=(640, 480), exif=True))], service_record=record
    )
    db.session.commit()
    stored = stored_bytes(files.file_key(row))
    assert b"SecretCameraMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert len(image.getexif()) == 0
        assert image.size == (640, 480)
    (stored_png,) = files.attach_files([("m.png", png())], service_record=record)
    db.session.commit()
    assert b"secret" not in stored_bytes(files.file_key(stored_png))


# ------------------------------------------------------------------ refused
HTML = b"<!doctype html><script>alert(document.cookie)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("收据.jpg", HTML, "与文件名不符"),
        ("收据.png", SVG, "与文件名不符"),
        ("logo.svg", SVG, "不是照片或 PDF"),
        ("page.html", HTML, "不是照片或 PDF"),
        ("run.exe", b"MZ\x90\x00", "不是照片或 PDF"),
        ("noext", jpeg(), "不是照片或 PDF"),
        ("png-named.jpg", png(), "与文件名不符"),
        ("empty.jpg", b"", "是空的"),
        ("broken.jpg", jpeg(size=(640, 480))[:200], "已损坏"),
        (
            "script.pdf",
            pdf().replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript>>"),
            "脚本",
        ),
        ("cut.pdf", pdf()[:40], "不是完整的 PDF"),
    ],
)
def test_bad_files_are_refused_with_a_reason_and_nothing_is_written(app, name, data, message):
    record = service_record()
    with pytest.raises(files.RejectedFile) as refused:
        files.attach_files([("ok.jpg", jpeg()), (name, data)], service_record=record)
    assert message in str(refused.value)
    assert db.session.scalar(select(StoredFile).where(StoredFile.service_record == record)) is None
    assert nothing_stored()


def test_oversize_file_is_refused(app):
    app.config["MAX_UPLOAD_BYTES"] = 10_000
    record = service_record()
    with pytest.raises(files.RejectedFile, match="超过 0.00954 MB"):
        files.attach_files([("big.jpg", jpeg(size=(2000, 2000)))], service_record=record)


def test_refusal_speaks_the_users_language(app):
    with force_locale("en"):
        with pytest.raises(files.RejectedFile) as refused:
            files.check_upload("a.svg", SVG)
        message = str(refused.value)
    assert message == (
        "The file a.svg is not a photo or PDF: only JPEG, PNG, WebP, PDF files are accepted."
    )
    assert "不是照片或 PDF" in str(refused.value)  # the default language is Chinese


def test_two_files_with_the_same_name_never_overwrite_each_other(app):
    record = service_record()
    first, second = files.attach_files(
        [
            ("收据.jpg", jpeg(color=(1, 1, 1))),
            ("收据.jpg", jpeg(color=(250, 250, 250))),
        ],
        kind="receipt",
        service_record=record,
    )
    db.session.commit()
    assert first.stored_name != second.stored_name
    assert first.sha256 != second.sha256
    assert on_disk(first) and on_disk(second)


def test_a_file_must_belong_to_exactly_one_record(app):
    checked = files.check_upload("a.pdf", pdf())
    files.store(checked)
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()
    assert nothing_stored()


# ------------------------------------------------------ disk and rows together
def test_rolled_back_save_leaves_no_file(app):
    record = service_record()
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    key, thumb = files.file_key(row), files.thumbnail_key(row)
    assert files.storage().exists(key) and files.storage().exists(thumb)
    db.session.rollback()
    assert not files.storage().exists(key) and not files.storage().exists(thumb)
    assert nothing_stored()


def test_failed_commit_leaves_no_file(app):
    record = service_record()
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    key = files.file_key(row)
    assert files.storage().exists(key)
    row.size_bytes = -1  # violates a CHECK constraint: the commit fails
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert not files.storage().exists(key)
    assert nothing_stored()
    assert db.session.scalar(select(StoredFile).where(StoredFile.sha256 == row.sha256)) is None


def test_deleting_a_record_deletes_its_files_after_commit(app):
    record = service_record()
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    db.session.commit()
    key, thumb = files.file_key(row), files.thumbnail_key(row)
    exists = files.storage().exists
    db.session.delete(record)
    db.session.flush()
    assert exists(key)  # not committed yet
    db.session.rollback()
    assert exists(key) and exists(thumb)  # the deletion was rolled back: the file stays
    db.session.delete(db.session.get(ServiceRecord, record.id))
    db.session.commit()
    assert not exists(key) and not exists(thumb)
    assert nothing_stored()
    assert db.session.scalar(select(StoredFile).where(StoredFile.id == row.id)) is None


def test_sweep_finds_files_without_rows(app):
    record = service_record()
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    db.session.commit()
    stray = "ab/ab" + "0" * 30 + ".jpg"
    files.storage().put(stray, b"x")
    files.storage().put("notes/readme.txt", b"not ours")  # not shaped like ours: kept
    assert files.orphan_keys() == [stray]
    # by default only files older than an hour: this one may be an upload in progress
    assert files.orphan_keys(older_than=dt.timedelta(minutes=60)) == []
    fresh = app.test_cli_runner().invoke(args=["sweep-files"])
    assert "removed 0" in fresh.output and files.storage().exists(stray)
    dry = app.test_cli_runner().invoke(args=["sweep-files", "--dry-run", "--older-than", "0"])
    assert "found 1" in dry.output and files.storage().exists(stray)
    result = app.test_cli_runner().invoke(args=["sweep-files", "--older-than", "0"])
    assert "removed 1" in result.output
    assert not files.storage().exists(stray) and on_disk(row)
    assert files.storage().exists("notes/readme.txt")


# --------------------------------------------------------------- downloads
def _files_by_place(world):
    """One file in the worker's community, one in another community of the clerk's
    street, one in another street; plus a shareable photo of a project the sponsor
    supports and a shareable photo of one it does not."""
    far = world.far_community
    theirs = make_project(
        beneficiaries=[make_household(far)],
        sponsors=[world.sponsor.organisation],
        status="in_progress",
    )
    others = make_project(far, sponsors=[world.other_sponsor.organisation], status="completed")
    made = {}
    for key, community, project, shareable in [
        ("heping", world.community, None, False),
        ("same_street", world.neighbour, None, False),
        ("other_street", far, None, False),
        ("sponsor_shared", far, theirs, True),
        ("sponsor_private", far, theirs, False),
        ("other_sponsor_shared", far, others, True),
    ]:
        record = service_record(community, project=project)
        (row,) = files.attach_files(
            [(f"{key}.jpg", jpeg())], service_record=record, is_shareable=shareable
        )
        made[key] = row
    db.session.commit()
    return {k: v.id for k, v in made.items()}


SEES = {
    "district_admin": {
        "heping",
        "same_street",
        "other_street",
        "sponsor_shared",
        "sponsor_private",
        "other_sponsor_shared",
    },
    "district_manager": {
        "heping",
        "same_street",
        "other_street",
        "sponsor_shared",
        "sponsor_private",
        "other_sponsor_shared",
    },
    "street_clerk": {"heping", "same_street"},
    "community_worker": {"heping"},
    "sponsor": {"sponsor_shared"},
}


@pytest.mark.parametrize("role", ROLES)
def test_downloads_follow_the_viewers_scope(world, login, role):
    ids = _files_by_place(world)
    client = login(world.user(role))
    for key, file_id in ids.items():
        for suffix in ("", "/thumbnail"):
            response = client.get(f"/files/{file_id}{suffix}")
            expected = 200 if key in SEES[role] else 404
            assert response.status_code == expected, (role, key, suffix)
            if expected == 200:
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["Content-Type"].startswith("image/jpeg")
                kind = "attachment" if suffix == "" else "inline"
                assert response.headers["Content-Disposition"].startswith(kind)
    if role == "district_admin":
        response = client.get(f"/files/{ids['heping']}")
        assert "filename*=UTF-8''heping.jpg" in response.headers["Content-Disposition"]


def test_downloads_stream_the_stored_bytes(world, login):
    record = service_record(world.community)
    (photo, receipt) = files.attach_files(
        [("a.jpg", jpeg(size=(640, 480))), ("b.pdf", pdf())], service_record=record
    )
    db.session.commit()
    client = login(world.worker)
    for row in (photo, receipt):
        response = client.get(f"/files/{row.id}")
        assert response.status_code == 200
        assert response.data == stored_bytes(files.file_key(row))
        assert response.content_length == row.size_bytes
        assert response.headers["Content-Type"].startswith(row.content_type)
        assert response.headers["Cache-Control"] == "private, no-store"
    thumb = client.get(f"/files/{photo.id}/thumbnail")
    assert thumb.data == stored_bytes(files.thumbnail_key(photo))
    assert client.get(f"/files/{receipt.id}/thumbnail").status_code == 404  # PDFs have none


def test_out_of_scope_downloads_are_404_and_read_no_object(world, login, monkeypatch):
    ids = _files_by_place(world)
    opened = []
    for kind in (storage_module.LocalStorage, storage_module.S3Storage):
        real = kind.open

        def spy(self, key, _real=real):
            opened.append(key)
            return _real(self, key)

        monkeypatch.setattr(kind, "open", spy)
    client = login(world.worker)
    for key in ("same_street", "other_street", "sponsor_shared"):
        for suffix in ("", "/thumbnail"):
            assert client.get(f"/files/{ids[key]}{suffix}").status_code == 404
    assert opened == []
    assert client.get(f"/files/{ids['heping']}").status_code == 200
    assert len(opened) == 1  # the spy sees reads: the one in scope was read


def test_a_file_missing_from_the_storage_is_404(world, login):
    record = service_record(world.community)
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    db.session.commit()
    files.storage().delete(files.file_key(row))
    client = login(world.worker)
    assert client.get(f"/files/{row.id}").status_code == 404
    assert client.get(f"/files/{row.id}/thumbnail").status_code == 200


def test_anonymous_download_goes_to_login(app, world):
    ids = _files_by_place(world)
    response = app.test_client().get(f"/files/{ids['heping']}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ["/files/0", "/files/-1", "/files/abc", "/files/99999999"])
def test_bad_file_ids_are_not_found(world, login, path):
    service_record(world.community)  # a file id 1 exists
    assert login(world.admin).get(path).status_code == 404


def test_files_follow_their_record_to_another_project(app):
    """A service record moved onto a sponsored project: its shareable photo becomes
    visible to that project's sponsor, and no longer to anyone else's."""
    first, second = make_project(), make_project()
    record = service_record(project=first)
    (row,) = files.attach_files([("shared.jpg", jpeg())], service_record=record, is_shareable=True)
    db.session.commit()
    assert row.project_id == first.id
    record.project = second
    db.session.commit()
    assert db.session.get(StoredFile, row.id).project_id == second.id


def test_fund_receipts_follow_the_ledger_rules_not_only_their_area(world, login):
    """A community worker may not open the ledger, so not its receipts either; a
    street clerk sees the district's donations and their own street's payments."""
    day = dt.date(2026, 11, 2)

    def pay(community):
        return fund.post_disbursement(
            user=world.admin,
            amount="10",
            posted_on=day,
            purpose="测试拨付",
            payee_person="收款人",
            project=make_project(community),
        )

    entries = {
        "donation": fund.post_donation(
            user=world.admin, amount="100", posted_on=day, receipt_number="R-1", donor_name="捐赠人"
        ),
        "own_street": pay(world.community),
        "other_street": pay(world.far_community),
    }
    assert entries["own_street"].street_id == world.street.id
    rows = {}
    for key, entry in entries.items():
        assert entry is not None, key
        (rows[key],) = files.attach_files(
            [(f"{key}.pdf", pdf())], kind="receipt", ledger_entry=entry
        )
    db.session.commit()
    ids = {key: row.id for key, row in rows.items()}
    sees = {
        "district_admin": set(ids),
        "district_manager": set(ids),
        "street_clerk": {"donation", "own_street"},
        "community_worker": set(),
        "sponsor": set(),
    }
    for role, expected in sees.items():
        client = login(world.user(role))
        statuses = {
            key: client.get(f"/files/{file_id}").status_code for key, file_id in ids.items()
        }
        got = {key for key, status in statuses.items() if status == 200}
        assert got == expected, (role, statuses)


def test_sponsors_never_get_file_names_or_staff_captions(world, login):
    project = make_project(
        world.community, status="in_progress", sponsors=[world.sponsor.organisation]
    )
    record = service_record(world.community, project=project)
    (row,) = files.attach_files(
        [("罗山-周谷堆社区28栋4单元.jpg", jpeg())],
        caption="罗山家门口",
        is_shareable=True,
        service_record=record,
    )
    db.session.commit()
    client = login(world.sponsor)
    response = client.get(f"/files/{row.id}")
    assert response.status_code == 200
    assert f"photo-{row.id}.jpg" in response.headers["Content-Disposition"]
    assert "%E7%BD%97" not in response.headers["Content-Disposition"]  # 罗, percent-encoded
    for page in ("/admin/sponsor/impact/", f"/admin/sponsor/projects/details/?id={project.id}"):
        html = client.get(page).get_data(as_text=True)
        assert f"/files/{row.id}/thumbnail" in html, page
        assert "罗山" not in html and "28栋" not in html, page
    # staff still see what they wrote
    staff = login(world.admin).get(f"/files/{row.id}")
    assert "filename*=UTF-8''%E7%BD%97" in staff.headers["Content-Disposition"]


def test_a_shared_photo_is_unshared_when_its_record_moves_to_another_project(app):
    first, second = make_project(), make_project()
    record = service_record(project=first)
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record, is_shareable=True)
    db.session.commit()
    record.project = second
    db.session.commit()
    row = db.session.get(StoredFile, row.id)
    assert (row.project_id, row.is_shareable) == (second.id, False)
