"""The panel reads in Chinese for every role: no English word, raw code, ``None`` or
``__None`` on any page a demo user reaches.

For each demo role the walk opens the landing page, every page of the menu, and for
each admin view the user may open (``app.extensions["admin"][0]._views``): its list,
its create form, the first record's details and edit pages, and the pages those link
to within the view (a household's story, a need's suggestions ...). The visible text
of each page (no <script>/<style>, no attributes, hidden parts left out except the
filter and confirmation texts that Flask-Admin shows from hidden JSON) may hold ASCII
words only from an allow-list: what users typed (usernames, receipt numbers, file
names, codes), references the machine made (request ids), and a few names (Yijia,
CSV, XLSX, PDF, English ...).
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from sqlalchemy import select

from app.extensions import db
from app.models import Area, HardshipCategory, LedgerEntry, StoredFile, User
from tests.conftest import ROLES

pytestmark = pytest.mark.demo

ROOT = Path(__file__).resolve().parents[2]

#: names that stay as they are in a Chinese UI
NAMES = {
    "Yijia",  # the brand, in case it shows
    "English",  # the language switch offers English by its own name
    "CSV",
    "XLSX",  # export formats
    "PDF",
    "JPEG",
    "PNG",
    "WebP",
    "MB",  # file types and sizes of evidence
}
#: a word: letters, digits and underscores with at least two ASCII letters ("950X" of a
#: masked ID number is not one; "None", "__None", "dibao", "items" are)
WORD = re.compile(r"[A-Za-z0-9_]+")
URL = re.compile(r"(?:https?://|/)[^\s<>\"']+")
SKIPPED_TAGS = {"script", "style", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
#: links that are not pages to read (downloads, sorting/paging variants, logout)
NOT_PAGES = ("/export/", "/static/", "/files/", "/delete/", "logout")
VARIANT_ARGS = {"sort", "desc", "page", "page_size", "search"}


class VisibleText(HTMLParser):
    """The text a user sees: no scripts, styles or attributes; hidden (``d-none``)
    elements left out, except the JSON from which Flask-Admin shows the filters (names,
    operations, option labels) and the questions of list actions."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None, bool]] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attrs = dict(attrs)
        hidden = "d-none" in (attrs.get("class") or "").split() or "hidden" in attrs
        self.stack.append((tag, attrs.get("id"), hidden))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        tags = {t for t, _i, _h in self.stack}
        ids = {i for _t, i, _h in self.stack}
        if tags & SKIPPED_TAGS:
            return
        if "filter-groups-data" in ids:
            # {filter name: [{"operation": ..., "options": [[value, label], ...]}, ...]}
            for name, operations in json.loads(data).items():
                self.parts.append(name)
                for operation in operations:
                    self.parts.append(operation["operation"])
                    self.parts.extend(label for _v, label in operation["options"] or [])
            return
        if "actions-confirmation-data" in ids:
            self.parts.extend(json.loads(data).values())  # {action: question}
            return
        if any(h for _t, _i, h in self.stack):
            return
        self.parts.append(data)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(parser.parts)


#: a reference the machine made (a request id, a file's hash): 16 hex digits or more
REFERENCE = re.compile(r"[0-9a-f]{16,}")


def ascii_words(text: str) -> set[str]:
    text = URL.sub(" ", text)
    return {
        w
        for w in WORD.findall(text)
        if len(re.findall("[A-Za-z]", w)) >= 2 and not REFERENCE.fullmatch(w)
    }


def typed_words() -> set[str]:
    """ASCII words of what users typed: usernames, receipt numbers, file names, codes."""
    values = [
        *db.session.scalars(select(User.username)),
        *db.session.scalars(select(LedgerEntry.receipt_number)),
        *db.session.scalars(select(StoredFile.original_name)),
        *db.session.scalars(select(Area.code)),
        *db.session.scalars(select(HardshipCategory.code)),
    ]
    return {w for v in values if v for w in WORD.findall(v)}


# ----------------------------------------------------------------------- the walk
def _links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(/admin/[^"#]*)"', page)]


def _key(url: str):
    """Pages that differ only by sorting, paging, filters or the return URL are one."""
    parts = urlsplit(url)
    args = tuple(sorted(k for k, _v in parse_qsl(parts.query) if k not in VARIANT_ARGS | {"url"}))
    return parts.path, tuple(a for a in args if not a.startswith("flt"))


def _first_editable(client, links: list[str], base: str) -> list[str]:
    """The edit page of the first listed record the user may change (a list can show
    rows the user may only read, such as resources of the whole district)."""
    for url in links:
        if url.startswith(base + "edit/") and client.get(url).status_code == 200:
            return [url]
    return []


def pages_of(app, client) -> list[str]:
    """The landing page, the menu, and each view's list, create, first details and
    first edit pages, and the pages they link to within the view."""
    landing = client.get("/admin/")
    assert landing.status_code == 200
    urls = ["/admin/", *_links(landing.text)]
    for view in app.extensions["admin"][0]._views:
        base = view.url.rstrip("/") + "/"
        listing = client.get(base)
        if listing.status_code != 200:
            continue
        urls.append(base)
        found = [u for u in _links(listing.text) if u.startswith(base)]
        for kind in ("new/", "details/"):
            first = next((u for u in found if u.startswith(base + kind)), None)
            if first:
                urls.append(first)
        urls.extend(u for u in found if not u.startswith(base + "edit/"))
        urls.extend(_first_editable(client, found, base))
        details = next((u for u in found if u.startswith(base + "details/")), None)
        if details:
            urls.extend(u for u in _links(client.get(details).text) if u.startswith(base))
    seen, pages = set(), []
    for url in urls:
        if any(part in url for part in NOT_PAGES) or _key(url) in seen:
            continue
        seen.add(_key(url))
        pages.append(url)
    return pages


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_every_role_reads_in_chinese(shared_app, shared_login, role):
    client = shared_login(role)
    allowed = NAMES | typed_words()
    pages = pages_of(shared_app, client)
    assert len(pages) > 3, pages
    english = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.text
        assert '<meta name="yijia-locale" content="zh_Hans_CN">' in page, url
        words = ascii_words(visible_text(page)) - allowed
        if words:
            english[url] = sorted(words)
    assert not english, "English or raw codes in the Chinese UI:\n" + "\n".join(
        f"  {url}: {words}" for url, words in english.items()
    )


def test_the_walk_sees_what_it_checks():
    """The checker finds what the newcomer found, and lets typed data through."""
    page = """
      <nav>首页</nav><script>var x = "items";</script><style>.a{}</style>
      <select><option value="__None">__None</option><option value="1">城东街道</option></select>
      <td>None</td><td>dibao</td><a title="Edit record" href="/admin/x/">每页 20 条</a>
      <div class="d-none">hidden words</div>
      <div id="filter-groups-data" class="d-none">{"状态": [{"index": 0, "arg": "x",
        "operation": "equals", "options": [["open", "开放"]], "type": null}]}</div>
      <td>340102********950X</td><td>2026-07-23</td><td>worker</td>
    """
    assert ascii_words(visible_text(page)) == {"__None", "None", "dibao", "equals", "worker"}


# --------------------------------------------------- Flask-Admin's own messages
def test_a_refused_form_says_so_in_chinese(shared_app, shared_login):
    """Flask-Admin's 'Failed to create record.' is missing from its own compiled zh
    catalog; ours (app/translations/.../admin.po) supplies it."""
    client = shared_login("community_worker")
    page = client.post("/admin/household/new/", data={"head_name": "某"}).text
    flashes = " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S))
    assert "未保存" in flashes and "Failed" not in flashes


def test_every_flask_admin_message_has_chinese():
    """Each message of Flask-Admin's templates and model views is translated by its
    own zh_Hans_CN catalog or by ours, so a Flask-Admin upgrade that adds one shows
    up here."""
    import flask_admin

    package = Path(flask_admin.__file__).parent
    catalogs = [
        package / "translations/zh_Hans_CN/LC_MESSAGES/admin.mo",
        ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/admin.mo",
    ]
    translated = set()
    for path in catalogs:
        with open(path, "rb") as fileobj:
            translated |= {
                m.id if isinstance(m.id, str) else m.id[0] for m in read_mo(fileobj) if m.string
            }
    keywords = {"_gettext": None, "_ngettext": (1, 2), "gettext": None, "lazy_gettext": None}
    method_map = [
        ("templates/bootstrap4/admin/**.html", "jinja2"),
        ("model/**.py", "python"),
        ("contrib/sqla/**.py", "python"),
        ("form/**.py", "python"),
        ("base.py", "python"),
        ("actions.py", "python"),
    ]
    missing = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(package), method_map, {}, keywords=keywords
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid and msgid not in translated:
            missing.add(msgid)
    assert not missing, f"add these to app/translations/zh_Hans_CN/LC_MESSAGES/admin.po: {missing}"
