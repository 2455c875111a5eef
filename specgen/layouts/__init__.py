"""The spec tree layouts specgen knows, one declarative profile per module.

A :class:`Layout` says where a kind of tree keeps its sources and which of
its writers' conventions apply; it holds data only. The loaders and rules
ask the profile (``corpus.layout.bare_schemas``), never the layout's name.

- :mod:`.matrix_doc`   matrix-doc's legacy tree (``scripts/gendoc.py``, to 2021)
- :mod:`.matrix_spec`  matrix-spec's Hugo tree (``data/``, ``content/``)
- :mod:`.ours`         this repository's layout, also the fallback

:func:`detect` picks the first profile of :data:`LAYOUTS` whose markers
all exist under a root; a ``specgen.toml`` or ``--config`` can name one
(``layout = "matrix-spec"``) and move any folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

__all__ = ["API_SUFFIXES", "Layout", "LAYOUTS", "DIR_KEYS", "detect", "by_name", "PLACEHOLDER", "HUGO_SHORTCODE"]

#: The folders a layout places, by the name the config file uses.
DIR_KEYS = ("schemas", "examples", "histories", "api", "specification", "templates")

#: API folder under ``api/`` -> the suffix its placeholders carry (the
#: same in our layout and matrix-doc's legacy one).
API_SUFFIXES: Mapping[str, str] = {
    "server-server": "ss",
    "identity": "is",
    "client-server": "cs",
    "application-service": "as",
    "push-gateway": "push",
}

#: Prose names a definition by a placeholder alone on its line: ours
#: ``{{definition_ss_pdu}}`` and the legacy ``{{definition_ss_event_schemas_m_typing}}``
#: (API abbreviation, then the folders below ``definitions/`` and the stem).
PLACEHOLDER = "placeholder"
#: Prose names a definition by Hugo shortcode, by path below the API
#: folder's parent without suffix: ``{{% definition path="api/server-server/definitions/pdu_v1" %}}``.
HUGO_SHORTCODE = "hugo-shortcode"


@dataclass(frozen=True)
class Layout:
    name: str
    #: What the tree is, for ``-v``.
    description: str
    #: Paths relative to the root that all exist in a tree of this layout.
    markers: tuple[str, ...]
    #: Folder of each :data:`DIR_KEYS` entry, relative to the root.
    dirs: Mapping[str, str]
    #: Event schema files may have no suffix (``m.room.member``).
    bare_schemas: bool = False
    #: Glob of the prose files below the specification folder.
    prose: str = "*.rst"
    #: How the prose places shared definitions (:data:`PLACEHOLDER`, :data:`HUGO_SHORTCODE`).
    definition_syntaxes: tuple[str, ...] = (PLACEHOLDER,)
    #: An example written as ``{"allOf": [part, ...]}`` stands for its parts
    #: merged in order (matrix-spec's build merges them).
    example_all_of: bool = False
    #: A ``$ref`` naming no file beside the file that holds it is looked up
    #: in this sub-folder of that file's folder (matrix-doc's legacy API
    #: examples are written relative to ``examples/``); ``""`` for none.
    fallback_ref_folder: str = ""
    #: The examples carry real signatures, hashes and IDs made with the
    #: published test keys, so ``specgen check`` proves them with refimpl
    #: (others' examples hold illustrative values).
    verifiable: bool = False
    #: Folders (relative to the root) of stand-alone schemas that the
    #: prose places by path and API files reach by ``$ref``: matrix-spec's
    #: ``data/schemas`` (``{{% definition path="schemas/..." %}}``). They
    #: are shared schema definitions like those below the schema folder.
    definition_dirs: tuple[str, ...] = ()
    #: Whether a finding fails ``specgen build``. A frozen tree whose own
    #: build never checked its sources (matrix-doc's gendoc.py) builds with
    #: its findings reported as warnings: every page is still written and
    #: nothing unsafe is published (raw HTML stays out); ``--strict`` or
    #: ``strict_build = true`` in a config fails on them again.
    strict_build: bool = True
    #: Names of tooling files in the API folder that are never sources.
    ignored_files: frozenset[str] = frozenset({"package.json", "package-lock.json"})


def _profiles() -> tuple[Layout, ...]:
    from . import matrix_doc, matrix_spec, ours

    return (matrix_doc.LAYOUT, matrix_spec.LAYOUT, ours.LAYOUT)


#: Every known layout, in the order :func:`detect` tries them (most
#: specific first: matrix-doc's tree also holds a ``data/`` copy).
LAYOUTS: tuple[Layout, ...] = _profiles()


def detect(root: Path) -> Layout | None:
    """The first layout whose markers all exist under ``root``."""
    for layout in LAYOUTS:
        if layout.markers and all((root / marker).exists() for marker in layout.markers):
            return layout
    return None


def by_name(name: str) -> Layout | None:
    return next((layout for layout in LAYOUTS if layout.name == name), None)
