"""Templates read without their indentation: the HTML a page sends is what it shows.

Flask-Admin's templates (and ours) indent their markup for the reader; sent as is, the
indentation was half of a 20-row list's 100 KB, and squeezing it out of every list
page afterwards (a regular expression over the finished HTML) cost two milliseconds a
page. Here each line's leading spaces are dropped once, when a template is first read,
so no page pays for them. A template holding ``<pre>`` or ``<textarea>`` (whose
whitespace is content) is read as written.
"""

from __future__ import annotations

import re

from jinja2 import BaseLoader

LEADING_WHITESPACE = re.compile(r"^[ \t]+", re.MULTILINE)
KEEPS_WHITESPACE = ("<pre", "<textarea")


def unindent(source: str) -> str:
    if any(tag in source for tag in KEEPS_WHITESPACE):
        return source
    return LEADING_WHITESPACE.sub("", source)


class UnindentingLoader(BaseLoader):
    """Wraps the app's loader (its own folder and every blueprint's, Flask-Admin's)."""

    def __init__(self, loader: BaseLoader):
        self.loader = loader

    def get_source(self, environment, template):
        source, filename, uptodate = self.loader.get_source(environment, template)
        return unindent(source), filename, uptodate

    def list_templates(self):
        return self.loader.list_templates()
