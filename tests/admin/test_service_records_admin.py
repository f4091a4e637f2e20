"""Service records through the admin: evidence uploaded in the same form, refused
files, no half-saved records or stray files, shareable toggle and file deletion by
scope, deleting records deletes their files, downloads by role."""

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Household,
    Need,
    Organisation,
    Project,
    Resource,
    ServiceRecord,
    StoredFile,
)
from app.services import casework_records, files
from app.validation import PHONE_PATTERN
from tests.conftest import ROLES
from tests.factories import area_named, count, jpeg, pdf, png, user_named

# reads the demo district's rows; to be converted to tests/factories.py
pytestmark = pytest.mark.demo

HTML = b"<!doctype html><script>alert(document.cookie)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


def _household(community="和平社区") -> Household:
    return db.session.scalar(
        select(Household)
        .where(Household.community_id == area_named(community).id)
        .order_by(Household.id)
    )


def _files_on_disk():
    return [p for p in files.upload_root().rglob("*") if p.is_file()]


def _form(household, uploads=(), **extra):
    data = {
        "household": str(household.id),
        "delivered_on": "2026-11-20",
        "description": "上门送餐",
        "evidence_kind": "photo",
        "evidence_caption": "",
        "evidence_files": [(io.BytesIO(content), name) for name, content in uploads],
    }
    data.update(extra)
    return data


def _post_new(client, data):
    return client.post("/admin/service_record/new/", data=data, content_type="multipart/form-data")


# ------------------------------------------------------------------ uploading
def test_good_files_are_saved_with_the_record(app, login):
    household = _household()
    need = household.needs[0]
    client = login("community_worker")
    before = count(ServiceRecord)
    response = _post_new(
        client,
        _form(
            household,
            [("午餐.jpg", jpeg()), ("菜单.png", png()), ("三方协议.pdf", pdf())],
            needs=str(need.id),
            evidence_kind="menu",
            evidence_caption="十一月菜单",
            provider_person="邻居 陈阿姨",
            provider_phone="13900001111",
            quantity="30",
            unit="餐",
            amount_yuan="450",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert count(ServiceRecord) == before + 1
    record = db.session.scalar(select(ServiceRecord).order_by(ServiceRecord.id.desc()))
    assert [n.id for n in record.needs] == [need.id]
    assert sorted(f.original_name for f in record.files) == ["三方协议.pdf", "午餐.jpg", "菜单.png"]
    assert {f.kind for f in record.files} == {"menu"}
    assert {f.caption for f in record.files} == {"十一月菜单"}
    assert all(files.file_path(f).is_file() for f in record.files)
    assert all(f.community_id == household.community_id for f in record.files)
    details = client.get(f"/admin/service_record/details/?id={record.id}").get_data(as_text=True)
    for f in record.files:
        assert f"/files/{f.id}" in details
    assert sum(f"/files/{f.id}/thumbnail" in details for f in record.files) == 2


def test_two_files_with_the_same_name_are_both_kept(app, login):
    household = _household()
    response = _post_new(
        login("community_worker"),
        _form(
            household,
            [("收据.jpg", jpeg(color=(1, 1, 1))), ("收据.jpg", jpeg(color=(9, 9, 9)))],
            evidence_kind="receipt",
        ),
    )
    assert response.status_code == 302
    record = db.session.scalar(select(ServiceRecord).order_by(ServiceRecord.id.desc()))
    assert [f.original_name for f in record.files] == ["收据.jpg", "收据.jpg"]
    assert len({f.stored_name for f in record.files}) == 2
    assert len(_files_on_disk()) == 4  # two files, two thumbnails


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("说明.txt", b"hello", "不是照片或 PDF"),
        ("收据.jpg", HTML, "与文件名不符"),
        ("logo.svg", SVG, "不是照片或 PDF"),
        ("big.jpg", None, "超过"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_saved(app, login, name, content, message):
    app.config["MAX_UPLOAD_BYTES"] = 20_000
    if content is None:
        content = jpeg(size=(1500, 1500), color=(10, 200, 30)) + b"\0" * 30_000
    before = count(ServiceRecord), count(StoredFile)
    response = _post_new(
        login("community_worker"),
        _form(_household(), [("好照片.jpg", jpeg(size=(50, 50))), (name, content)]),
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (count(ServiceRecord), count(StoredFile)) == before
    assert _files_on_disk() == []


def test_a_save_failing_after_the_upload_leaves_no_file(app, login):
    """A good file, and a need of another household: the record is refused when it is
    flushed, after the file was written; the rollback removes the file."""
    household = _household()
    neighbour = db.session.scalar(
        select(Household).where(
            Household.community_id == household.community_id, Household.id != household.id
        )
    )
    foreign_need = neighbour.needs[0]
    before = count(ServiceRecord), count(StoredFile)
    response = _post_new(
        login("community_worker"),
        _form(household, [("好照片.jpg", jpeg())], needs=str(foreign_need.id)),
    )
    assert response.status_code == 200
    assert "服务记录只能对应本户的需求" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (count(ServiceRecord), count(StoredFile)) == before
    assert _files_on_disk() == []


def test_an_invalid_field_saves_neither_record_nor_file(app, login):
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    before = count(ServiceRecord), count(StoredFile)
    response = _post_new(
        login("community_worker"),
        _form(_household(), [("好照片.jpg", jpeg())], delivered_on=future),
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert (count(ServiceRecord), count(StoredFile)) == before
    assert _files_on_disk() == []


@pytest.mark.parametrize(
    ("role", "field", "community"),
    [
        ("community_worker", "household", "东郢社区"),
        ("community_worker", "needs", "东郢社区"),
        ("street_clerk", "household", "明光社区"),
        ("street_clerk", "needs", "明光社区"),
    ],
)
def test_out_of_scope_ids_in_form_fields_are_refused(app, login, role, field, community):
    own = _household("和平社区")
    other = _household(community)
    data = _form(own, [("好照片.jpg", jpeg())])
    if field == "household":
        data["household"] = str(other.id)
    else:
        data["needs"] = str(other.needs[0].id)
    before = count(ServiceRecord), count(StoredFile)
    response = _post_new(login(role), data)
    assert response.status_code == 200
    db.session.expire_all()
    assert (count(ServiceRecord), count(StoredFile)) == before
    assert _files_on_disk() == []


@pytest.mark.parametrize("field", ["project", "resource", "provider_organisation"])
def test_out_of_scope_resource_project_or_provider_is_refused(app, login, field):
    other_street = area_named("胜利路街道")
    model = {"project": Project, "resource": Resource, "provider_organisation": Organisation}[field]
    row = db.session.scalar(select(model).where(model.street_id == other_street.id))
    assert row is not None
    before = count(ServiceRecord)
    response = _post_new(login("community_worker"), _form(_household(), **{field: str(row.id)}))
    assert response.status_code == 200  # the form again, with the field's error
    db.session.expire_all()
    assert count(ServiceRecord) == before


def test_needs_can_be_marked_met(app, login):
    household = _household()
    need = next(n for n in household.needs if n.status != "withdrawn")
    response = _post_new(
        login("community_worker"), _form(household, needs=str(need.id), mark_needs_met="y")
    )
    assert response.status_code == 302
    db.session.expire_all()
    need = db.session.get(Need, need.id)
    assert need.status == "met" and need.resolved_on == dt.date(2026, 11, 20)


def test_provider_phone_is_masked_in_the_list(app, login):
    worker = user_named("worker")
    casework_records.record_service(
        _household(),
        user=worker,
        description="送餐",
        provider_person="邻居",
        provider_phone="13912345678",
    )
    db.session.commit()
    for role in ("community_worker", "district_manager"):
        page = login(role).get("/admin/service_record/?page_size=100").get_data(as_text=True)
        assert not PHONE_PATTERN.search(page)
        export = login(role).get("/admin/service_record/export/csv/").get_data(as_text=True)
        assert not PHONE_PATTERN.search(export)


# ------------------------------------------------------- sharing and deleting
def _record_with_files(community="和平社区", *, project=None):
    admin = user_named("admin")
    record = casework_records.record_service(
        _household(community),
        user=admin,
        description="更换纱窗",
        project=project,
        evidence=[("窗.jpg", jpeg()), ("协议.pdf", pdf())],
    )
    db.session.commit()
    return record


@pytest.mark.parametrize("role", ROLES)
def test_shareable_toggle_as_every_role(app, login, role):
    photo = _record_with_files().files[0]
    response = login(role).post(
        "/admin/service_record/file/share/", data={"file_id": photo.id, "shareable": "1"}
    )
    db.session.expire_all()
    shared = db.session.get(StoredFile, photo.id).is_shareable
    if role in ("district_admin", "street_clerk", "community_worker"):
        assert response.status_code == 302 and shared
    else:
        assert response.status_code == 403 and not shared


@pytest.mark.parametrize(
    ("role", "community"),
    [
        ("community_worker", "东郢社区"),
        ("street_clerk", "明光社区"),
        ("community_worker", "明光社区"),
    ],
)
def test_out_of_scope_files_cannot_be_shared_or_deleted(app, login, role, community):
    record = _record_with_files(community)
    photo_id = record.files[0].id
    client = login(role)
    assert (
        client.post(
            "/admin/service_record/file/share/", data={"file_id": photo_id, "shareable": "1"}
        ).status_code
        == 404
    )
    assert (
        client.post("/admin/service_record/file/delete/", data={"file_id": photo_id}).status_code
        == 404
    )
    db.session.expire_all()
    stored = db.session.get(StoredFile, photo_id)
    assert stored is not None and not stored.is_shareable
    assert files.file_path(stored).is_file()


def test_only_photos_can_be_shared(app, login):
    pdf = _record_with_files().files[1]
    response = login("community_worker").post(
        "/admin/service_record/file/share/",
        data={"file_id": pdf.id, "shareable": "1"},
        follow_redirects=True,
    )
    assert "只有照片可以向资助方展示" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(StoredFile, pdf.id).is_shareable


def test_a_shared_photo_reaches_the_projects_sponsor(app, login):
    sponsor = user_named("sponsor")
    project = db.session.scalar(
        select(Project).where(Project.sponsors.contains(sponsor.organisation))
    )
    record = _record_with_files(project.community.name, project=project)
    photo_id = record.files[0].id
    assert login("sponsor").get(f"/files/{photo_id}").status_code == 404
    admin = login("district_admin")
    admin.post("/admin/service_record/file/share/", data={"file_id": photo_id, "shareable": "1"})
    assert login("sponsor").get(f"/files/{photo_id}").status_code == 200
    admin.post("/admin/service_record/file/share/", data={"file_id": photo_id, "shareable": "0"})
    assert login("sponsor").get(f"/files/{photo_id}").status_code == 404


def test_deleting_a_file_removes_row_and_disk_file(app, login):
    photo = _record_with_files().files[0]
    photo_id, path = photo.id, files.file_path(photo)
    response = login("community_worker").post(
        "/admin/service_record/file/delete/", data={"file_id": photo_id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(StoredFile, photo_id) is None
    assert not path.is_file()


@pytest.mark.parametrize("how", ["delete", "bulk"])
def test_deleting_a_record_deletes_its_files(app, login, how):
    record = _record_with_files()
    record_id = record.id
    paths = [files.file_path(f) for f in record.files]
    client = login("community_worker")
    if how == "delete":
        response = client.post("/admin/service_record/delete/", data={"id": record_id})
    else:
        response = client.post(
            "/admin/service_record/action/", data={"action": "delete", "rowid": [record_id]}
        )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ServiceRecord, record_id) is None
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(StoredFile)
            .where(StoredFile.service_record_id == record_id)
        )
        == 0
    )
    assert not any(p.is_file() for p in paths)


# ------------------------------------------------------------------ downloads
DOWNLOADS = {
    "district_admin": {"和平社区", "东郢社区", "明光社区"},
    "district_manager": {"和平社区", "东郢社区", "明光社区"},
    "street_clerk": {"和平社区", "东郢社区"},
    "community_worker": {"和平社区"},
    "sponsor": set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_service_record_files_download_by_scope(app, login, role):
    photos = {c: _record_with_files(c).files[0].id for c in ("和平社区", "东郢社区", "明光社区")}
    client = login(role)
    for community, file_id in photos.items():
        expected = 200 if community in DOWNLOADS[role] else 404
        assert client.get(f"/files/{file_id}").status_code == expected, community
        assert client.get(f"/files/{file_id}/thumbnail").status_code == expected, community
