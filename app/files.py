"""Serving evidence files: only through here, only to those whose scope covers them.

``/files/<id>`` downloads the file (always as an attachment, with the name it was
uploaded under); ``/files/<id>/thumbnail`` is the small JPEG shown in pages. Both
look the file up through ``access.visible``: a file outside the viewer's scope is
a 404, exactly like a file that does not exist, and no byte of it is read.

The bytes are streamed by the app from the storage (local folder or S3 bucket), never
handed out as a presigned URL to the bucket: a presigned URL works for whoever holds
it until it expires (a forwarded link, a browser history, a proxy log), would need the
bucket reachable from every user's browser, and would leave the headers set here
(attachment name, ``nosniff``, ``no-store``, the sandboxing CSP) to the bucket. Evidence files are at
most ``MAX_UPLOAD_BYTES`` (10 MB), so passing them through costs little.
"""

from pathlib import PurePosixPath
from urllib.parse import quote

from flask import Blueprint, Response, abort, request
from flask_login import current_user, login_required
from werkzeug.wsgi import wrap_file

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


def _stream(stored: StoredFile, *, thumbnail: bool, mimetype: str) -> Response:
    """The object's bytes as a streamed response; 404 when the storage has none."""
    opened = files.open_file(stored, thumbnail=thumbnail)
    if opened is None:
        abort(404)
    response = Response(
        wrap_file(request.environ, opened.stream), mimetype=mimetype, direct_passthrough=True
    )
    if opened.size is not None:
        response.content_length = opened.size
    return response


@bp.get("/<int:file_id>")
@login_required
def download(file_id: int):
    stored = visible_file(file_id)  # the scope check comes before any read
    response = _stream(stored, thumbnail=False, mimetype=stored.content_type)
    # a sponsor never gets the uploaded name: it may name a household or an address
    name = stored.original_name if current_user.is_staff else f"photo-{stored.id}"
    if not current_user.is_staff:
        name += PurePosixPath(stored.stored_name).suffix
    response.headers["Content-Disposition"] = _disposition("attachment", name)
    return _protect(response)


@bp.get("/<int:file_id>/thumbnail")
@login_required
def thumbnail(file_id: int):
    stored = visible_file(file_id)
    if not stored.thumbnail_name:
        abort(404)
    response = _stream(stored, thumbnail=True, mimetype="image/jpeg")
    response.headers["Content-Disposition"] = _disposition("inline", f"thumbnail-{stored.id}.jpg")
    return _protect(response)
