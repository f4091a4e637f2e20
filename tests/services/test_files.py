"""Evidence files: what is accepted, how it is stored, and who may download it."""

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


def service_record(community=None, project=None) -> ServiceRecord:
    """A service record delivered today to a household of ``community`` (of a new
    community when none is given)."""
    return make_service_record(
        make_household(community), delivered_on=dt.date.today(), project=project
    )


def on_disk(row: StoredFile) -> bool:
    return files.file_path(row).is_file()


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
def test_good_files_are_stored_under_generated_names(app, name, data, content_type):
    record = service_record()
    (row,) = files.attach_files([(name, data)], kind="photo", service_record=record)
    db.session.commit()
    assert row.content_type == content_type
    assert row.original_name == name
    assert row.stored_name != name and name not in str(files.file_path(row))
    assert str(files.file_path(row)).startswith(app.config["UPLOAD_FOLDER"])
    assert on_disk(row)
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
    stored = files.file_path(row).read_bytes()
    assert b"SecretCameraMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert len(image.getexif()) == 0
        assert image.size == (640, 480)
    (stored_png,) = files.attach_files([("m.png", png())], service_record=record)
    db.session.commit()
    assert b"secret" not in files.file_path(stored_png).read_bytes()


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
    assert not any(p.is_file() for p in files.upload_root().rglob("*"))


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
    assert not any(p.is_file() for p in files.upload_root().rglob("*"))


# ------------------------------------------------------ disk and rows together
def test_rolled_back_save_leaves_no_file(app):
    record = service_record()
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    path = files.file_path(row)
    assert path.is_file()
    db.session.rollback()
    assert not path.is_file()


def test_failed_commit_leaves_no_file(app):
    record = service_record()
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    path = files.file_path(row)
    row.size_bytes = -1  # violates a CHECK constraint: the commit fails
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert not path.is_file()
    assert db.session.scalar(select(StoredFile).where(StoredFile.sha256 == row.sha256)) is None


def test_deleting_a_record_deletes_its_files_after_commit(app):
    record = service_record()
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    db.session.commit()
    path, thumb = files.file_path(row), files.thumbnail_path(row)
    db.session.delete(record)
    db.session.flush()
    assert path.is_file()  # not committed yet
    db.session.rollback()
    assert path.is_file()  # the deletion was rolled back: the file stays
    db.session.delete(db.session.get(ServiceRecord, record.id))
    db.session.commit()
    assert not path.is_file() and not thumb.is_file()
    assert db.session.scalar(select(StoredFile).where(StoredFile.id == row.id)) is None


def test_sweep_finds_files_without_rows(app):
    record = service_record()
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    db.session.commit()
    stray = files.upload_root() / "ab" / ("ab" + "0" * 30 + ".jpg")
    stray.write_bytes(b"x") if stray.parent.exists() else (
        stray.parent.mkdir(parents=True),
        stray.write_bytes(b"x"),
    )
    assert files.orphan_paths() == [stray]
    result = app.test_cli_runner().invoke(args=["sweep-files"])
    assert "removed 1" in result.output
    assert not stray.exists() and on_disk(row)


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
