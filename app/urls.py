"""Where a form may send the user next: the one check every ``next``/``url`` field uses."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

#: longer targets are refused (a path of ours is never this long)
MAX_TARGET_LENGTH = 2000


def _is_unsafe_char(ch: str) -> bool:
    # Cc control (tab, CR, LF, NUL, DEL ...), Cf format (zero-width, bidi overrides),
    # Cs/Co/Cn, and the Unicode line/paragraph separators
    return (
        ch == "\\" or unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
    )


def _is_local_path(text: str) -> bool:
    if any(_is_unsafe_char(ch) for ch in text):
        return False
    # "/x" is ours; "//host" and "/\host" are another site's
    if not text.startswith("/") or text[1:2] in ("/", "\\"):
        return False
    parts = urlsplit(text)
    return not (parts.scheme or parts.netloc)


def safe_redirect_target(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``.

    Accepted: a relative path of this host, such as ``/admin/household/?page=2``.
    Refused, not cleaned (the user lands on ``default``):

    - anything that is not a ``str``, is empty or longer than 2000 characters;
    - a scheme or a host (``https://evil.example``, ``//evil.example``,
      ``javascript:...``) or a relative path without the leading ``/``;
    - control and invisible characters anywhere (tab, CR, LF, NUL, zero-width or
      bidi marks) and backslashes: browsers and Werkzeug drop tabs and newlines and
      read ``\\`` as ``/``, so ``/<TAB>/evil.example`` or ``/\\evil.example`` would
      become ``//evil.example``, and CR/LF would split the ``Location`` header;
    - the same once percent-decoded (``/%09/evil.example``, ``/%5Cevil.example``,
      ``/%2F/evil.example``), so a proxy or a second decoding cannot turn it into
      another site either.

    The accepted target is returned unchanged.
    """
    if not isinstance(target, str) or not target or len(target) > MAX_TARGET_LENGTH:
        return default
    if not _is_local_path(target):
        return default
    if "%" in target and not _is_local_path(unquote(target)):
        return default
    return target
