"""Links a browser would run as script.

A corpus may come from a stranger, and its prose and descriptions become
pages of the published spec: a link or image whose URI is ``javascript:``
(or ``vbscript:``, or a ``data:`` document) would run the stranger's script
in those pages. Such URIs are found here, as a browser reads them, for the
renderers (which write the link as its text alone) and for lint (which
reports it at its place).
"""

from __future__ import annotations

import re
from typing import Iterator

__all__ = ["SCRIPT_SCHEMES", "DESCRIPTION_LINK", "runs_script", "script_links"]

#: The schemes a browser runs as script, or as a document of the link's
#: choosing, when a link is followed or an image loaded.
SCRIPT_SCHEMES = frozenset({"javascript", "vbscript", "data"})
#: A link in a schema or API description: ``[text](target)``.
DESCRIPTION_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
#: What a browser drops before reading a URL's scheme: leading C0 controls
#: and spaces, and tabs and newlines anywhere.
_IGNORED = re.compile(r"^[\x00-\x20]+|[\t\n\r]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def runs_script(uri: str) -> bool:
    """Whether following or loading ``uri`` could run script."""
    scheme = _SCHEME.match(_IGNORED.sub("", uri))
    return scheme is not None and scheme.group(1).lower() in SCRIPT_SCHEMES


def script_links(text: str) -> Iterator[str]:
    """The targets of the description links in ``text`` that run script."""
    if "](" in text:
        for match in DESCRIPTION_LINK.finditer(text):
            if runs_script(match.group(2)):
                yield match.group(2)
