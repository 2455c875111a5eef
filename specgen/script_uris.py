"""Links and markup a browser would run as script.

A corpus may come from a stranger, and its prose, descriptions and
templates become pages of the published spec: a link or image whose URI is
``javascript:`` (or ``vbscript:``, or a ``data:`` document), or markup that
carries script, would run the stranger's script in those pages. Such URIs
are found here, as a browser reads them, for the renderers (which write the
link as its text alone) and for lint (which reports it at its place); and
such markup in what a corpus's own templates write (:func:`script_in_markup`).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Callable, Iterator

__all__ = ["SCRIPT_SCHEMES", "DESCRIPTION_LINK", "runs_script", "script_links", "script_in_markup"]

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


#: Elements that run script or load a document of their own.
_SCRIPTED_ELEMENTS = frozenset({"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base"})
#: Attributes whose value a browser follows or loads as a URI.
_URI_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
                             "cite", "longdesc", "ping", "manifest", "codebase", "dynsrc", "lowsrc"})
#: A script tag as a browser may see it where a parse would not (``<scr<script>``):
#: counted in the raw text too.
_RAW_SCRIPT_TAG = re.compile(r"<\s*script", re.IGNORECASE)


def script_in_markup(markup: str, allowed_script: Callable[[str], bool]) -> list[str]:
    """What in ``markup`` a browser would run as script, each said in a few
    words (empty when nothing): script elements (but an
    empty one whose ``src`` ``allowed_script`` accepts), frames, objects,
    ``<base>``, a refreshing ``<meta>``, event handler attributes and URIs
    that :func:`runs_script`."""
    finder = _ScriptFinder(allowed_script)
    finder.feed(markup)
    finder.close()
    raw = list(_RAW_SCRIPT_TAG.finditer(markup))
    if not finder.found and len(raw) > finder.allowed:
        finder.found.append("a script tag the parse did not see")
    return finder.found


class _ScriptFinder(HTMLParser):
    def __init__(self, allowed_script: Callable[[str], bool]) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed_script = allowed_script
        self.found: list[str] = []
        #: How many script elements ``allowed_script`` accepted.
        self.allowed = 0
        self._in_allowed_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not self._in_allowed_script and self.allowed_script(values.get("src") or "") \
                and set(values) <= {"src", "type", "defer", "async"}:
            self._in_allowed_script = True
            self.allowed += 1
        elif tag in _SCRIPTED_ELEMENTS:
            self.found.append(f"<{tag}>")
        elif tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.found.append("a refreshing <meta>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"the event handler {name!r}")
            elif value and (name in _URI_ATTRIBUTES and runs_script(value)
                            or name == "srcset" and any(runs_script(c.strip()) for c in value.split(","))):
                self.found.append(f"{name}={value[:40]!r}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self._in_allowed_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_allowed_script = False

    def handle_data(self, data: str) -> None:
        if self._in_allowed_script and data.strip():
            self.found.append("an inline script")
