"""The Simplified Chinese catalog is complete, keeps placeholders, and its committed
.mo matches the .po.

The strings are extracted from the source here, with the same ``babel.cfg`` mapping and
keywords as ``make translations``, so a new ``_l("...")`` or ``{{ _('...') }}`` without a
translation fails this test even if nobody re-ran the extraction.  To fix a failure:
``make translations``, fill in the empty ``msgstr`` entries of
``app/translations/zh_Hans_CN/LC_MESSAGES/messages.po``, run ``make translations`` again
and commit both the .po and the .mo.
"""

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = "zh_Hans_CN"
CATALOG_DIR = ROOT / "app" / "translations" / LOCALE / "LC_MESSAGES"
PO_PATH = CATALOG_DIR / "messages.po"
MO_PATH = CATALOG_DIR / "messages.mo"
#: the ``-k`` options of ``pybabel extract`` in the Makefile
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

#: a printf-style conversion such as %(name)s, %s, %d or %%, or a lone % that is
#: not one (which would make ``str % values`` fail at runtime)
PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]?"
)


def _placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def _forms(value) -> tuple[str, ...]:
    """A msgid or msgstr as a tuple of its forms (plural entries have several)."""
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


@pytest.fixture(scope="module")
def source_messages() -> dict:
    """(msgid, context) → "file:line" of every translatable string in app/."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found: dict = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = _forms(message)[0]
        if msgid:
            found.setdefault((msgid, context), f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def po_catalog():
    with open(PO_PATH, "rb") as fileobj:
        return read_po(fileobj, locale=LOCALE)


def test_extraction_reads_python_and_templates(source_messages):
    files = {where.split(":")[0] for where in source_messages.values()}
    assert any(f.endswith(".py") for f in files)
    assert any(f.startswith("app/templates/") and f.endswith(".html") for f in files), (
        "babel.cfg found no strings in app/templates: is the jinja2 section still there?"
    )
    assert all(f.startswith("app/") for f in files), sorted(files)


def test_every_source_string_has_a_chinese_translation(source_messages, po_catalog):
    # A catalog whose header is fuzzy is skipped whole by `pybabel compile`.
    assert not po_catalog.fuzzy, "the header of messages.po is marked fuzzy"
    missing = []
    for (msgid, context), where in sorted(source_messages.items(), key=lambda kv: kv[1]):
        message = po_catalog.get(msgid, context)
        if message is None:
            missing.append(f"{where}: {msgid!r} (not in messages.po)")
        elif message.fuzzy:
            missing.append(f"{where}: {msgid!r} (fuzzy)")
        elif not all(form.strip() for form in _forms(message.string)):
            missing.append(f"{where}: {msgid!r} (empty msgstr)")
    if missing:
        pytest.fail(
            f"{len(missing)} UI string(s) lack a {LOCALE} translation; run `make translations`, "
            "translate them in messages.po, then `make translations` again:\n  "
            + "\n  ".join(missing)
        )


def test_translations_keep_placeholders(po_catalog):
    wrong = []
    for message in po_catalog:
        if not message.id:
            continue  # the header
        ids = _forms(message.id)
        for form in _forms(message.string):
            if not form:
                continue  # reported by the completeness test
            # Chinese has one plural form: it must carry the plural msgid's placeholders.
            expected = _placeholders(ids[-1])
            if _placeholders(form) != expected:
                wrong.append(
                    f"{ids[0]!r}: expected {sorted(expected.elements())}, "
                    f"got {sorted(_placeholders(form).elements())} in {form!r}"
                )
    if wrong:
        pytest.fail("placeholders differ between msgid and msgstr:\n  " + "\n  ".join(wrong))


def _messages(catalog) -> dict:
    """(msgid, context) → msgstr, without the header (it names the Babel version)."""
    return {(_forms(m.id), m.context): _forms(m.string) for m in catalog if m.id}


def test_committed_mo_matches_po(po_catalog):
    assert MO_PATH.exists(), f"{MO_PATH.relative_to(ROOT)} is missing: run `make translations`"
    buffer = io.BytesIO()
    write_mo(buffer, po_catalog, use_fuzzy=False)
    buffer.seek(0)
    expected = _messages(read_mo(buffer))
    with open(MO_PATH, "rb") as fileobj:
        committed = read_mo(fileobj)
    actual = _messages(committed)
    stale = sorted(
        repr(key[0][0])
        for key in expected.keys() | actual.keys()
        if expected.get(key) != actual.get(key)
    )
    if stale:
        pytest.fail(
            f"messages.mo is out of date with messages.po for {len(stale)} message(s); run "
            "`make translations` and commit the .mo:\n  " + "\n  ".join(stale[:20])
        )
    assert committed.plural_forms == po_catalog.plural_forms


def test_app_speaks_chinese_by_default():
    """The app loads this catalog from app/translations for the default locale."""
    from flask_babel import force_locale, get_locale
    from flask_babel import lazy_gettext as _l

    from app import create_app
    from config import TestConfig

    app = create_app(TestConfig)
    with app.test_request_context("/"):
        assert str(get_locale()) == LOCALE
        assert str(_l("Household project")) == "到户项目"
        assert str(_l("Welcome, %(name)s", name="张三")) == "欢迎，张三"
        with force_locale("en"):
            assert str(_l("Household project")) == "Household project"
