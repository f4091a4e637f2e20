"""Evidence files: the one way to store, check and serve them.

Service records (casework), support-plan months and ledger entries (the special
fund) all attach their photos, receipts, agreements and menu lists through
``attach_files``; every download goes through ``app/files.py``, which asks
``app/admin/access.py`` whether the viewer may see the file.

What a file must pass before anything is written:
- its extension is one we take (.jpg/.jpeg/.png/.webp/.pdf) **and** its content is
  what the extension says (magic bytes, then a full decode of images): an HTML page
  renamed to 收据.jpg, an SVG or an executable is refused;
- it is not empty and not larger than ``MAX_UPLOAD_BYTES``;
- images are re-encoded from their pixels, which drops EXIF/GPS and any other
  metadata (and anything hidden after the image data), after turning them upright;
  a thumbnail is made at the same time;
- PDFs must start with ``%PDF-``, end with ``%%EOF``, parse with pypdf, not be
  encrypted, and carry no JavaScript, launch or other dangerous actions, embedded
  files, rich media or XFA forms anywhere: every object of the file is read and every
  name checked *after* pypdf decoded it, so ``/J#61vaScript`` is ``/JavaScript``.

Names: the file is stored under a random name (``ab/ab12….jpg``) in the storage
``app/services/storage.py`` chooses: ``UPLOAD_FOLDER`` (outside the static folder) by
default, an S3 bucket when ``STORAGE_URL`` is set; the uploaded name is kept only as a
label. Two files both called 收据.jpg never meet. Checking, cleaning and thumbnails all
happen here before anything is stored, the same for both storages.

Transactions: files are written before the row is flushed. If the transaction rolls
back, the files it wrote are removed (from the bucket too); files of deleted rows are
removed only once the deletion is committed. So a failed save leaves neither a row without its file
nor a file without its row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import re
import secrets
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import StoredFile
from app.models.choices import EVIDENCE_KINDS, values
from app.services.storage import Storage, StorageError, StoredObject
from app.services.storage import storage as current_storage
from app.validation import InvalidValue

log = logging.getLogger(__name__)
# pypdf logs every oddity it repairs in a file; hostile uploads would flood the log
logging.getLogger("pypdf").setLevel(logging.ERROR)

#: content type → (extension we store under, extensions we accept from users)
ACCEPTED = {
    "image/jpeg": (".jpg", (".jpg", ".jpeg")),
    "image/png": (".png", (".png",)),
    "image/webp": (".webp", (".webp",)),
    "application/pdf": (".pdf", (".pdf",)),
}
PIL_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
#: refuse images that would take too much memory to decode (decompression bombs)
MAX_PIXELS = 40_000_000
THUMBNAIL_SIZE = (320, 320)
#: names (as keys or values, already decoded by pypdf) that refuse a PDF: scripts,
#: actions that start programs, fetch or send files, embedded files, rich media, XFA
PDF_FORBIDDEN_NAMES = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/Launch",
        "/ImportData",
        "/SubmitForm",
        "/GoToE",
        "/GoToR",
        "/Rendition",
        "/RichMediaExecute",
        "/RichMedia",
        "/RichMediaContent",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",
        "/XFA",
    }
)
#: a PDF with more objects than this is refused rather than read to the end
PDF_MAX_OBJECTS = 200_000


class RejectedFile(InvalidValue):
    """An upload we will not keep; the message says why, in the user's language."""


@dataclass
class CheckedFile:
    """An upload that passed every check, ready to be written."""

    original_name: str
    content_type: str
    data: bytes
    thumbnail: bytes | None = None

    @property
    def extension(self) -> str:
        return ACCEPTED[self.content_type][0]


# ------------------------------------------------------------------- checking
def clean_name(filename: str | None) -> str:
    """The uploaded name as a label: no directories, no control characters, at most
    120 characters; Chinese kept."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else name[:120]
    return name or "file"


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves show, whatever the name says."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


ACCEPTED_TYPES = "JPEG, PNG, WebP, PDF"


def check_upload(filename: str | None, data: bytes, *, max_bytes: int | None = None) -> CheckedFile:
    """Check one upload; raise ``RejectedFile`` with a clear message, or return it
    ready to store (images already cleaned, with a thumbnail)."""
    name = clean_name(filename)
    limit = max_bytes if max_bytes is not None else current_app.config["MAX_UPLOAD_BYTES"]
    if not data:
        raise RejectedFile(_l("The file %(name)s is empty.", name=name))
    if len(data) > limit:
        raise RejectedFile(
            _l(
                "The file %(name)s is larger than %(mb)s MB.",
                name=name,
                mb=f"{limit / (1024 * 1024):.3g}",
            )
        )
    extension = os.path.splitext(name)[1].lower()
    allowed = {ext for _stored, exts in ACCEPTED.values() for ext in exts}
    if extension not in allowed:
        raise RejectedFile(
            _l(
                "The file %(name)s is not a photo or PDF: only %(types)s files are accepted.",
                name=name,
                types=ACCEPTED_TYPES,
            )
        )
    content_type = sniff(data)
    if content_type is None or extension not in ACCEPTED[content_type][1]:
        raise RejectedFile(
            _l(
                "The content of %(name)s does not match its name: only real %(types)s files "
                "are accepted.",
                name=name,
                types=ACCEPTED_TYPES,
            )
        )
    if content_type == "application/pdf":
        _check_pdf(name, data)
        return CheckedFile(name, content_type, data)
    cleaned, thumbnail = _clean_image(name, data, content_type)
    return CheckedFile(name, content_type, cleaned, thumbnail)


def _check_pdf(name: str, data: bytes) -> None:
    """Parse the PDF with pypdf and refuse it unless it is complete, unencrypted and
    free of scripts, dangerous actions and embedded files (``PDF_FORBIDDEN_NAMES``)."""
    if b"%%EOF" not in data[-2048:]:
        raise RejectedFile(_l("The file %(name)s is not a complete PDF.", name=name))
    try:
        found = _forbidden_pdf_name(data)
    except _EncryptedPdf:
        raise RejectedFile(
            _l(
                "The PDF %(name)s is encrypted or password-protected; upload an unprotected copy.",
                name=name,
            )
        ) from None
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        log.info("rejected PDF upload: %s", type(exc).__name__)
        raise RejectedFile(_l("The PDF %(name)s is damaged or not a PDF.", name=name)) from None
    if found is not None:
        log.info("rejected PDF upload: contains %s", found)
        raise RejectedFile(
            _l("The PDF %(name)s contains scripts or embedded files; it is refused.", name=name)
        )


class _EncryptedPdf(Exception):
    pass


def _forbidden_pdf_name(data: bytes) -> str | None:
    """The first forbidden name anywhere in the PDF, or None. Reads every object the
    cross-reference tables list (object streams included) and everything reachable
    from the trailer; raises on a file pypdf cannot read."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about oddities it then repairs
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _EncryptedPdf
        root = reader.trailer.get("/Root")
        root = root.get_object() if root is not None else None
        if not isinstance(root, DictionaryObject) or root.get("/Type") != "/Catalog":
            raise ValueError("no document catalog")
        len(reader.pages)  # the page tree must be readable
        seen: set[tuple[int, int]] = set()
        pending: list = [reader.trailer]
        for generation, numbers in reader.xref.items():
            pending.extend(IndirectObject(num, generation, reader) for num in numbers)
        pending.extend(IndirectObject(num, 0, reader) for num in reader.xref_objStm)
        while pending:
            obj = pending.pop()
            if isinstance(obj, IndirectObject):
                key = (obj.idnum, obj.generation)
                if key in seen:
                    continue
                seen.add(key)
                if len(seen) > PDF_MAX_OBJECTS:
                    raise ValueError("too many objects")
                obj = obj.get_object()
            if isinstance(obj, NameObject):
                if str(obj) in PDF_FORBIDDEN_NAMES:
                    return str(obj)
            elif isinstance(obj, DictionaryObject):  # streams too: their dictionaries
                for dict_key, value in obj.items():
                    if str(dict_key) in PDF_FORBIDDEN_NAMES:
                        return str(dict_key)
                    pending.append(value)
            elif isinstance(obj, ArrayObject):
                pending.extend(obj)
    return None


def _clean_image(name: str, data: bytes, content_type: str) -> tuple[bytes, bytes]:
    """Decode the image fully, turn it upright, and write it again from its pixels
    only: no EXIF, no GPS, no comments, nothing appended. Plus a JPEG thumbnail."""
    bad = RejectedFile(_l("The image %(name)s is damaged or not an image.", name=name))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if PIL_FORMATS.get(probe.format or "") != content_type:
                    raise bad
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise RejectedFile(_l("The image %(name)s is too large.", name=name))
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except RejectedFile:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        log.info("rejected image upload: %s", type(exc).__name__)
        raise bad from None
    image_format = {v: k for k, v in PIL_FORMATS.items()}[content_type]
    pixels = _without_metadata(upright, image_format)
    out = io.BytesIO()
    save_args = {"JPEG": {"quality": 90, "optimize": True}, "WEBP": {"quality": 90}, "PNG": {}}
    pixels.save(out, format=image_format, **save_args[image_format])
    thumb = pixels.convert("RGB") if pixels.mode not in ("RGB", "L") else pixels.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    return out.getvalue(), thumb_out.getvalue()


def _without_metadata(image: Image.Image, image_format: str) -> Image.Image:
    """A new image holding only the pixels (and palette)."""
    mode = image.mode
    if image_format == "JPEG" and mode not in ("RGB", "L", "CMYK"):
        mode = "RGB"
    elif mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        mode = "RGBA"
    source = image.convert(mode) if mode != image.mode else image
    clean = Image.new(source.mode, source.size)
    clean.paste(source)
    if source.mode == "P" and source.getpalette():
        clean.putpalette(source.getpalette())
    return clean


# -------------------------------------------------------------------- storing
def storage() -> Storage:
    """Where the bytes go: S3 when ``STORAGE_URL`` is set, else ``UPLOAD_FOLDER``."""
    return current_storage()


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _key_for(stored_name: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{32}(_t)?\.(jpg|png|webp|pdf)", stored_name):
        raise ValueError("not a generated file name")
    return f"{stored_name[:2]}/{stored_name}"


def _path_for(stored_name: str) -> Path:
    return upload_root() / _key_for(stored_name)


def file_key(stored: StoredFile) -> str:
    """The key of the file's bytes in the storage (``ab/ab12….jpg``)."""
    return _key_for(stored.stored_name)


def thumbnail_key(stored: StoredFile) -> str | None:
    return _key_for(stored.thumbnail_name) if stored.thumbnail_name else None


def file_path(stored: StoredFile) -> Path:
    """Where the file would be in ``UPLOAD_FOLDER`` (the local storage only)."""
    return _path_for(stored.stored_name)


def thumbnail_path(stored: StoredFile) -> Path | None:
    return _path_for(stored.thumbnail_name) if stored.thumbnail_name else None


def open_file(stored: StoredFile, *, thumbnail: bool = False) -> StoredObject | None:
    """The file's bytes (or its thumbnail's) as a stream to serve, None when missing.
    Callers check the viewer's scope first: ``app/files.py`` does."""
    key = thumbnail_key(stored) if thumbnail else file_key(stored)
    return storage().open(key) if key else None


def _write(name: str, data: bytes, content_type: str) -> tuple[Storage, str]:
    store_ = storage()
    key = _key_for(name)
    store_.put(key, data, content_type)
    return store_, key


def store(
    checked: CheckedFile,
    *,
    kind: str = "photo",
    caption: str | None = None,
    is_shareable: bool = False,
    session: Session | None = None,
    **owner,
) -> StoredFile:
    """Write a checked file to disk and add its row (owner given as e.g.
    ``service_record=record``). If the transaction rolls back the file is removed."""
    if kind not in values(EVIDENCE_KINDS):
        raise InvalidValue(_l("Choose what kind of evidence this is."))
    session = session or db.session
    token = secrets.token_hex(16)
    stored_name = token + checked.extension
    thumbnail_name = f"{token}_t.jpg" if checked.thumbnail else None
    row = StoredFile(
        stored_name=stored_name,
        original_name=checked.original_name,
        content_type=checked.content_type,
        size_bytes=len(checked.data),
        sha256=hashlib.sha256(checked.data).hexdigest(),
        kind=kind,
        caption=caption or None,
        is_shareable=bool(is_shareable),
        thumbnail_name=thumbnail_name,
        **owner,
    )
    written = _pending(session, "written")
    written.append(_write(stored_name, checked.data, checked.content_type))
    if thumbnail_name:
        written.append(_write(thumbnail_name, checked.thumbnail, "image/jpeg"))
    session.add(row)
    return row


def attach_files(uploads, *, kind: str = "photo", caption=None, is_shareable=False, **owner):
    """Check every upload first, then store them all: one bad file refuses the lot.

    ``uploads`` are Werkzeug ``FileStorage`` objects (empty file inputs are skipped)
    or ``(filename, bytes)`` pairs. Returns the new ``StoredFile`` rows.
    """
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    checked = []
    for upload in uploads or ():
        if isinstance(upload, tuple):
            filename, data = upload
        else:
            filename = upload.filename
            if not filename:
                continue
            data = upload.stream.read(limit + 1)
        checked.append(check_upload(filename, data, max_bytes=limit))
    return [
        store(c, kind=kind, caption=caption, is_shareable=is_shareable, **owner) for c in checked
    ]


def delete_file(stored: StoredFile, session: Session | None = None) -> None:
    """Delete the row now; the bytes go once the deletion is committed."""
    (session or db.session).delete(stored)


# ------------------------------------------------- keeping disk and rows together
def _pending(session: Session, key: str) -> list:
    return session.info.setdefault(f"yijia_files_{key}", [])


def _remove(objects) -> None:
    """Delete ``(storage, key)`` pairs; a failure is logged, not raised (the commit or
    rollback already happened): ``flask sweep-files`` finds what is left."""
    for store_, key in objects:
        try:
            store_.delete(key)
        except (OSError, StorageError):
            log.warning("could not remove an evidence file")


@event.listens_for(Session, "before_flush")
def _remember_deleted_files(session, _flush_context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, StoredFile):
            doomed = _pending(session, "doomed")
            store_ = storage()
            doomed.append((store_, _key_for(obj.stored_name)))
            if obj.thumbnail_name:
                doomed.append((store_, _key_for(obj.thumbnail_name)))


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    session.info.pop("yijia_files_written", None)
    doomed = session.info.pop("yijia_files_doomed", [])
    if doomed:
        _remove(doomed)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    """The outermost transaction ended without a commit (rollback, or the session
    closed): the files it wrote have no row, so they go; planned deletions are off."""
    if transaction.parent is not None or transaction.nested:
        return
    _remove(session.info.pop("yijia_files_written", []))
    session.info.pop("yijia_files_doomed", None)


def orphan_keys(*, older_than: dt.timedelta = dt.timedelta(0)) -> list[str]:
    """Stored files (local folder or bucket) that no row names, left by a crash
    mid-save or by rows deleted directly in SQL: what ``flask sweep-files`` removes.
    Only keys shaped like ours (``ab/ab12….jpg``) are considered, and only those
    written more than ``older_than`` ago: a file another process (or machine) has just
    written may belong to a row its transaction has not committed yet."""
    # list first, read the rows second: a row committed in between is seen; a file
    # listed whose row is still to be committed is younger than ``older_than``
    cutoff = dt.datetime.now(dt.UTC) - older_than
    listed = [key for key, modified in storage().entries() if modified <= cutoff]
    known: set[str] = set()
    for name, thumb in db.session.execute(
        select(StoredFile.stored_name, StoredFile.thumbnail_name)
    ):
        known.add(name)
        if thumb:
            known.add(thumb)
    orphans = []
    for key in listed:
        folder, _, name = key.partition("/")
        if _GENERATED_KEY.fullmatch(key) and folder == name[:2] and name not in known:
            orphans.append(key)
    return sorted(orphans)


_GENERATED_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}(_t)?\.(jpg|png|webp|pdf)")


def sweep_orphans(
    *, dry_run: bool = False, older_than: dt.timedelta = dt.timedelta(0)
) -> list[str]:
    """Remove (unless ``dry_run``) the orphans ``orphan_keys`` finds; their keys."""
    orphans = orphan_keys(older_than=older_than)
    if not dry_run:
        store_ = storage()
        for key in orphans:
            store_.delete(key)
    return orphans


def describe_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, size // 1024)} KB"
