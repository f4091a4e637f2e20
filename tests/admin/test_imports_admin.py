"""The 导入 pages (app/admin/views/imports.py) through the panel: each role offered
导入 uploads, reads the dry run's result page, commits the valid rows and finds the
households in the list; the manager and the sponsor are refused every import route;
a batch of another street is 404 for a clerk on every route that takes its id;
hostile uploads answer in Chinese and write nothing."""

from __future__ import annotations

import html
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Household, ImportBatch, Member
from app.services import imports
from tests.factories import new_id_number
from tests.services.test_imports import household_row, xlsx

IMPORT = "/admin/import/"


def _upload(client, data: bytes, name="名单.xlsx", **form):
    return client.post(
        IMPORT + "upload/",
        data={"kind": "households", **form, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _counts():
    return {
        "batches": db.session.scalar(select(func.count(ImportBatch.id))),
        "households": db.session.scalar(select(func.count(Household.id))),
        "members": db.session.scalar(select(func.count(Member.id))),
        "audit": db.session.scalar(select(func.count(AuditEvent.id))),
        "last_event": db.session.scalar(select(func.max(AuditEvent.id))) or 0,
    }


def _community_for(world, role):
    return world.community  # the worker's; inside the clerk's street; the admin's district


@pytest.mark.parametrize("role", ["district_admin", "street_clerk", "community_worker"])
def test_each_importing_role_uploads_checks_commits_and_finds_the_households(
    app, world, login, role
):
    user = world.user(role)
    community = _community_for(world, role)
    client = login(user)
    landing = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/import/"' in landing and "导入" in landing
    page = client.get(IMPORT).get_data(as_text=True)
    assert "从电子表格导入" in page and 'id="import-upload"' in page
    assert client.get(IMPORT + "files/template/?kind=households").status_code == 200

    good = [
        household_row(world, **{"户主": f"导入{role}{i}", "社区": community.name}) for i in range(3)
    ]
    bad = household_row(world, number=_wrong_check_digit(), **{"户主": "坏行"})
    member = household_row(
        world,
        number=good[0][1],
        **{
            "户主": good[0][0],
            "社区": community.name,
            "成员姓名": f"成员{role}",
            "与户主关系": "子女",
            "成员身份证号": new_id_number(),
        },
    )
    response = _upload(client, xlsx([*good, member, bad]))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/admin/import/batch/?id=" in location
    result = client.get(location).get_data(as_text=True)
    batch = db.session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
    assert batch.status == "checked" and batch.user_id == user.id
    assert batch.counts == {"new": 4, "update": 0, "unchanged": 0, "error": 1}
    # the bad row named on the result page: its row number, column and reason
    assert _error_rows(result) == [(bad_row(5), "身份证号", "该身份证号的校验位不正确，请核对。")]
    assert 'id="commit-valid"' in result and 'id="commit-all"' not in result
    assert db.session.scalar(select(func.count(Household.id))) == 0  # a dry run writes nothing

    progress = client.get(IMPORT + f"progress/?id={batch.id}").get_json()
    assert progress["status"] == "checked" and progress["running"] is False
    workbook = client.get(IMPORT + f"files/errors/?id={batch.id}")
    assert workbook.status_code == 200
    assert load_workbook(io.BytesIO(workbook.data)).active.max_row >= 6

    # "all rows" is refused while a row is bad; the valid rows go in
    refused = client.post(IMPORT + f"commit/?id={batch.id}", data={"mode": "all"})
    assert refused.status_code == 302
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).status == "checked"
    assert db.session.scalar(select(func.count(Household.id))) == 0
    done = client.post(
        IMPORT + f"commit/?id={batch.id}", data={"mode": "valid"}, follow_redirects=True
    )
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and 'id="import-done"' in text
    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.status == "committed" and batch.committed_by_id == user.id
    assert batch.committed_counts["new"] == 4 and batch.committed_counts["skipped"] == 1
    saved = db.session.scalars(select(Household).order_by(Household.id)).all()
    assert [h.head_name for h in saved] == [row[0] for row in good]
    assert {h.community_id for h in saved} == {community.id}
    assert [m.name for m in saved[0].members] == [f"成员{role}"]

    listing = client.get("/admin/household/?page_size=100").get_data(as_text=True)
    for row in good:
        assert row[0] in listing
    assert "坏行" not in listing
    history = client.get(IMPORT).get_data(as_text=True)
    assert f'data-batch-id="{batch.id}"' in history


def _wrong_check_digit() -> str:
    number = new_id_number()
    return number[:17] + ("0" if number[17] != "0" else "1")


def _error_rows(page: str) -> list[tuple[int, str, str]]:
    """(row, column, reason) of each row of the result page's error table."""
    table = re.search(r'<table[^>]*id="import-errors".*?</table>', page, re.S)
    if table is None:
        return []
    found = []
    for row, column, reason in re.findall(
        r'<tr data-row="(\d+)">\s*<td[^>]*>\d+</td><td>(.*?)</td>\s*<td>(.*?)</td>',
        table.group(0),
        re.S,
    ):
        found.append(
            (int(row), html.unescape(column), html.unescape(re.sub("<[^>]+>", "", reason)).strip())
        )
    return found


def bad_row(n: int) -> int:
    """The file row of the n-th data row (the header is row 1)."""
    return n + 1


@pytest.mark.parametrize("role", ["district_manager", "sponsor"])
def test_the_manager_and_the_sponsor_are_refused_every_import_route(app, world, login, role):
    batch = imports.start_import(
        user=world.clerk,
        kind="households",
        file_name="名单.xlsx",
        data=xlsx([household_row(world, **{"身份证号": "坏"})]),
    )
    assert batch.status == "checked" and batch.errors
    client = login(world.user(role))  # the login writes its own audit rows
    before = _counts()
    assert 'href="/admin/import/"' not in client.get("/admin/").get_data(as_text=True)
    for method, url in [
        ("get", IMPORT),
        ("get", IMPORT + "files/template/?kind=households"),
        ("get", IMPORT + "files/template/?kind=resources"),
        ("get", IMPORT + f"batch/?id={batch.id}"),
        ("get", IMPORT + f"progress/?id={batch.id}"),
        ("get", IMPORT + f"files/errors/?id={batch.id}"),
        ("post", IMPORT + f"commit/?id={batch.id}"),
    ]:
        assert getattr(client, method)(url).status_code == 403, url
    assert _upload(client, xlsx([household_row(world)])).status_code == 403
    assert _counts() == before
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).status == "checked"


def test_a_batch_of_another_street_is_404_for_a_clerk_on_every_route(app, world, login):
    far_row = household_row(world, **{"社区": world.far_community.name})
    broken = household_row(world, **{"社区": world.far_community.name, "身份证号": "坏"})
    batch = imports.start_import(
        user=world.far_clerk, kind="households", file_name="远处.xlsx", data=xlsx([far_row, broken])
    )
    assert batch.status == "checked" and batch.valid_count == 1 and batch.error_count == 1
    routes = [
        ("get", IMPORT + f"batch/?id={batch.id}"),
        ("get", IMPORT + f"progress/?id={batch.id}"),
        ("get", IMPORT + f"files/errors/?id={batch.id}"),
    ]
    # the owner reaches every route (so the 404s below are the scope's, not the batch's)
    owner = login(world.far_clerk)
    for method, url in routes:
        assert getattr(owner, method)(url).status_code == 200, url
    clerk = login(world.clerk)
    for method, url in routes:
        assert getattr(clerk, method)(url).status_code == 404, url
    for mode in ("valid", "all"):
        assert clerk.post(IMPORT + f"commit/?id={batch.id}", data={"mode": mode}).status_code == 404
    assert IMPORT + f"batch/?id={batch.id}" not in clerk.get(IMPORT).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).status == "checked"
    assert db.session.scalar(select(func.count(Household.id))) == 0
    # and an id that is no batch at all, or not a number
    for url in (
        IMPORT + "batch/?id=999999",
        IMPORT + "progress/?id=abc",
        IMPORT + "files/errors/?id=",
    ):
        assert clerk.get(url).status_code == 404, url


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("名单.xlsx", b"just some text, not a workbook", "不是电子表格"),
        ("名单.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "加密"),
        ("名单.xlsm", b"PK\x03\x04whatever", "宏"),
        (
            "名单.xlsx",
            _zip(
                {
                    "[Content_Types].xml": b"<Types/>",
                    "xl/workbook.xml": b"<w/>",
                    "xl/vbaProject.bin": b"x",
                }
            ),
            "宏",
        ),
        (
            "名单.xlsx",
            _zip({"[Content_Types].xml": b"<Types/>", "xl/big.xml": b"0" * 50_000_000}),
            "压缩炸弹",
        ),
        ("名单.xlsx", b"", "空"),
        ("../../etc/passwd", b"root:x:0:0", "不是电子表格"),
    ],
)
def test_hostile_uploads_answer_in_chinese_and_write_nothing(app, world, login, name, data, reason):
    client = login(world.clerk)
    before = _counts()
    response = _upload(client, data, name=name)
    assert response.status_code == 302 and response.headers["Location"].endswith(IMPORT)
    page = client.get(IMPORT).get_data(as_text=True)
    assert "文件被拒绝" in page and reason in page, page[:2000]
    assert _counts() == before


def test_an_upload_without_a_file_or_into_a_community_outside_the_area(app, world, login):
    client = login(world.worker)
    before = _counts()
    response = client.post(IMPORT + "upload/", data={"kind": "households"})
    assert response.status_code == 302
    assert "请选择要上传的文件。" in client.get(IMPORT).get_data(as_text=True)
    _upload(client, xlsx([household_row(world)]), community_id=str(world.neighbour.id))
    assert "该社区不在您的辖区内，不能导入。" in client.get(IMPORT).get_data(as_text=True)
    assert _upload(client, xlsx([household_row(world)]), community_id="abc").status_code == 404
    assert _counts() == before
