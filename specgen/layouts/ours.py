"""This repository's layout: ``event-schemas/``, ``api/``, ``specification/``
(reStructuredText with ``{{placeholders}}`` and a ``targets.yaml``), and an
optional ``templates/`` overriding the packaged templates. It is also the
layout of a tree nothing else matches."""

from . import PLACEHOLDER, Layout

LAYOUT = Layout(
    name="specgen",
    description="specgen's own layout",
    markers=("event-schemas/schema", "specification/targets.yaml"),
    dirs={
        "schemas": "event-schemas/schema",
        "examples": "event-schemas/examples",
        "histories": "event-schemas/histories",
        "api": "api",
        "specification": "specification",
        "templates": "templates",
    },
    definition_syntaxes=(PLACEHOLDER,),
    verifiable=True,
)
