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
    ServiceRecord,
    StoredFile,
)
from app.services import casework_records, files
from app.validation import PHONE_PATTERN
from tests.conftest import ROLES
from tests.factories import (
    count,
    jpeg,
    make_household,
    make_need,
    make_organisation,
    make_project,
    make_resource,
    pdf,
    png,
)

HTML = b"<!doctype html><script>alert(document.cookie)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


def _household(community) -> Household:
    """A household of ``community`` with one open need (meals)."""
    household = make_household(community)
    make_need(household)
    return household


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
    db.session.commit()  # the request runs in its own session: it must see the rows
    return client.post("/admin/service_record/new/", data=data, content_type="multipart/form-data")


# ------------------------------------------------------------------ uploading
def test_good_files_are_saved_with_the_record(world, login):
    household = _household(world.community)
    need = household.needs[0]
    client = login(world.worker)
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
    assert sorted(f.original_name for f in record.files) == [
        "三方协议.pdf",
        "午餐.jpg",
        "菜单.png",
    ]
    assert {f.kind for f in record.files} == {"menu"}
    assert {f.caption for f in record.files} == {"十一月菜单"}
    assert all(files.file_path(f).is_file() for f in record.files)
    assert all(f.community_id == household.community_id for f in record.files)
    details = client.get(f"/admin/service_record/details/?id={record.id}").get_data(as_text=True)
    for f in record.files:
        assert f"/files/{f.id}" in details
    assert sum(f"/files/{f.id}/thumbnail" in details for f in record.files) == 2


def test_two_files_with_the_same_name_are_both_kept(world, login):
    household = _household(world.community)
    response = _post_new(
        login(world.worker),
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
def test_bad_files_are_refused_and_nothing_is_saved(world, app, login, name, content, message):
    app.config["MAX_UPLOAD_BYTES"] = 20_000
    if content is None:
        content = jpeg(size=(1500, 1500), color=(10, 200, 30)) + b"\0" * 30_000
    before = count(ServiceRecord), count(StoredFile)
    response = _post_new(
        login(world.worker),
        _form(_household(world.community), [("好照片.jpg", jpeg(size=(50, 50))), (name, content)]),
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (count(ServiceRecord), count(StoredFile)) == before
    assert _files_on_disk() == []


def test_a_save_failing_after_the_upload_leaves_no_file(world, login):
    """A good file, and a need of another household: the record is refused when it is
    flushed, after the file was written; the rollback removes the file."""
    household = _household(world.community)
    neighbour = _household(world.community)
    foreign_need = neighbour.needs[0]
    before = count(ServiceRecord), count(StoredFile)
    response = _post_new(
        login(world.worker),
        _form(household, [("好照片.jpg", jpeg())], needs=str(foreign_need.id)),
    )
    assert response.status_code == 200
    assert "服务记录只能对应本户的需求" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (count(ServiceRecord), count(StoredFile)) == before
    assert _files_on_disk() == []


def test_an_invalid_field_saves_neither_record_nor_file(world, login):
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    before = count(ServiceRecord), count(StoredFile)
    response = _post_new(
        login(world.worker),
        _form(_household(world.community), [("好照片.jpg", jpeg())], delivered_on=future),
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert (count(ServiceRecord), count(StoredFile)) == before
    assert _files_on_disk() == []


@pytest.mark.parametrize(
    ("role", "field", "place"),
    [
        ("community_worker", "household", "neighbour"),
        ("community_worker", "needs", "neighbour"),
        ("street_clerk", "household", "far_community"),
        ("street_clerk", "needs", "far_community"),
    ],
)
def test_out_of_scope_ids_in_form_fields_are_refused(world, login, role, field, place):
    own = _household(world.community)
    other = _household(getattr(world, place))
    data = _form(own, [("好照片.jpg", jpeg())])
    if field == "household":
        data["household"] = str(other.id)
    else:
        data["needs"] = str(other.needs[0].id)
    before = count(ServiceRecord), count(StoredFile)
    response = _post_new(login(world.user(role)), data)
    assert response.status_code == 200
    db.session.expire_all()
    assert (count(ServiceRecord), count(StoredFile)) == before == (0, 0)
    assert _files_on_disk() == []


@pytest.mark.parametrize("field", ["project", "resource", "provider_organisation"])
def test_out_of_scope_resource_project_or_provider_is_refused(world, login, field):
    row = {
        "project": lambda: make_project(world.far_community),
        "resource": lambda: make_resource(street=world.far_street),
        "provider_organisation": lambda: make_organisation("social_org", street=world.far_street),
    }[field]()
    assert row.street_id == world.far_street.id  # outside the worker's street
    response = _post_new(
        login(world.worker), _form(_household(world.community), **{field: str(row.id)})
    )
    assert response.status_code == 200  # the form again, with the field's error
    db.session.expire_all()
    assert count(ServiceRecord) == 0


def test_needs_can_be_marked_met(world, login):
    household = _household(world.community)
    need = next(n for n in household.needs if n.status != "withdrawn")
    response = _post_new(
        login(world.worker), _form(household, needs=str(need.id), mark_needs_met="y")
    )
    assert response.status_code == 302
    db.session.expire_all()
    need = db.session.get(Need, need.id)
    assert need.status == "met" and need.resolved_on == dt.date(2026, 11, 20)


def test_provider_phone_is_masked_in_the_list(world, login):
    worker = world.worker
    casework_records.record_service(
        _household(world.community),
        user=worker,
        description="送餐",
        provider_person="邻居",
        provider_phone="13912345678",
    )
    db.session.commit()
    for role in ("community_worker", "district_manager"):
        page = (
            login(world.user(role))
            .get("/admin/service_record/?page_size=100")
            .get_data(as_text=True)
        )
        assert not PHONE_PATTERN.search(page)
        export = (
            login(world.user(role)).get("/admin/service_record/export/csv/").get_data(as_text=True)
        )
        assert not PHONE_PATTERN.search(export)


# ------------------------------------------------------- sharing and deleting
def _record_with_files(world, community=None, *, project=None):
    """A service record of a household of ``community`` (the worker's by default),
    recorded by the administrator with a photo and a PDF; committed."""
    record = casework_records.record_service(
        _household(community or world.community),
        user=world.admin,
        description="更换纱窗",
        project=project,
        evidence=[("窗.jpg", jpeg()), ("协议.pdf", pdf())],
    )
    db.session.commit()
    return record


@pytest.mark.parametrize("role", ROLES)
def test_shareable_toggle_as_every_role(world, login, role):
    photo = _record_with_files(world).files[0]
    response = login(world.user(role)).post(
        "/admin/service_record/file/share/",
        data={"file_id": photo.id, "shareable": "1"},
    )
    db.session.expire_all()
    shared = db.session.get(StoredFile, photo.id).is_shareable
    if role in ("district_admin", "street_clerk", "community_worker"):
        assert response.status_code == 302 and shared
    else:
        assert response.status_code == 403 and not shared


@pytest.mark.parametrize(
    ("role", "place"),
    [
        ("community_worker", "neighbour"),
        ("street_clerk", "far_community"),
        ("community_worker", "far_community"),
    ],
)
def test_out_of_scope_files_cannot_be_shared_or_deleted(world, login, role, place):
    record = _record_with_files(world, getattr(world, place))
    photo_id = record.files[0].id
    client = login(world.user(role))
    assert (
        client.post(
            "/admin/service_record/file/share/",
            data={"file_id": photo_id, "shareable": "1"},
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


def test_only_photos_can_be_shared(world, login):
    pdf = _record_with_files(world).files[1]
    response = login(world.worker).post(
        "/admin/service_record/file/share/",
        data={"file_id": pdf.id, "shareable": "1"},
        follow_redirects=True,
    )
    assert "只有照片可以向资助方展示" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(StoredFile, pdf.id).is_shareable


def test_a_shared_photo_reaches_the_projects_sponsor(world, login):
    project = make_project(
        world.community, status="in_progress", sponsors=[world.sponsor.organisation]
    )
    record = _record_with_files(world, project=project)
    photo_id = record.files[0].id
    assert login(world.sponsor).get(f"/files/{photo_id}").status_code == 404
    admin = login(world.admin)
    admin.post(
        "/admin/service_record/file/share/",
        data={"file_id": photo_id, "shareable": "1"},
    )
    assert login(world.sponsor).get(f"/files/{photo_id}").status_code == 200
    admin.post(
        "/admin/service_record/file/share/",
        data={"file_id": photo_id, "shareable": "0"},
    )
    assert login(world.sponsor).get(f"/files/{photo_id}").status_code == 404


def test_deleting_a_file_removes_row_and_disk_file(world, login):
    photo = _record_with_files(world).files[0]
    photo_id, path = photo.id, files.file_path(photo)
    response = login(world.worker).post(
        "/admin/service_record/file/delete/", data={"file_id": photo_id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(StoredFile, photo_id) is None
    assert not path.is_file()


@pytest.mark.parametrize("how", ["delete", "bulk"])
def test_deleting_a_record_deletes_its_files(world, login, how):
    record = _record_with_files(world)
    record_id = record.id
    paths = [files.file_path(f) for f in record.files]
    client = login(world.worker)
    if how == "delete":
        response = client.post("/admin/service_record/delete/", data={"id": record_id})
    else:
        response = client.post(
            "/admin/service_record/action/",
            data={"action": "delete", "rowid": [record_id]},
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
    "district_admin": {"community", "neighbour", "far_community"},
    "district_manager": {"community", "neighbour", "far_community"},
    "street_clerk": {"community", "neighbour"},
    "community_worker": {"community"},
    "sponsor": set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_service_record_files_download_by_scope(world, login, role):
    photos = {
        place: _record_with_files(world, getattr(world, place)).files[0].id
        for place in ("community", "neighbour", "far_community")
    }
    client = login(world.user(role))
    for place, file_id in photos.items():
        expected = 200 if place in DOWNLOADS[role] else 404
        assert client.get(f"/files/{file_id}").status_code == expected, place
        assert client.get(f"/files/{file_id}/thumbnail").status_code == expected, place
