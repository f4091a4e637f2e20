"""Serving evidence files: only through here, only to those whose scope covers them.

``/files/<id>`` downloads the file (always as an attachment, with the name it was
uploaded under); ``/files/<id>/thumbnail`` is the small JPEG shown in pages. Both
look the file up through ``access.visible``: a file outside the viewer's scope is
a 404, exactly like a file that does not exist.
"""

from urllib.parse import quote

from flask import Blueprint, abort, send_file
from flask_login import current_user, login_required

from app import access
from app.extensions import db
from app.models import StoredFile
from app.services import files
from app.validation import MAX_ID

bp = Blueprint("files", __name__, url_prefix="/files")


def visible_file(file_id: int) -> StoredFile:
    if not 0 < file_id <= MAX_ID:
        abort(404)
    stored = db.session.scalars(
        access.visible(StoredFile, current_user).where(StoredFile.id == file_id)
    ).first()
    if stored is None:
        abort(404)
    return stored


def _disposition(kind: str, filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "") or "file"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _protect(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/<int:file_id>")
@login_required
def download(file_id: int):
    stored = visible_file(file_id)
    path = files.file_path(stored)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=stored.content_type, conditional=False, etag=False)
    # a sponsor never gets the uploaded name: it may name a household or an address
    name = stored.original_name if current_user.is_staff else f"photo-{stored.id}"
    if not current_user.is_staff:
        name += files.file_path(stored).suffix
    response.headers["Content-Disposition"] = _disposition("attachment", name)
    return _protect(response)


@bp.get("/<int:file_id>/thumbnail")
@login_required
def thumbnail(file_id: int):
    stored = visible_file(file_id)
    path = files.thumbnail_path(stored)
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", conditional=False, etag=False)
    response.headers["Content-Disposition"] = _disposition("inline", f"thumbnail-{stored.id}.jpg")
    return _protect(response)
