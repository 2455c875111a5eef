"""matrix-spec's Hugo tree: OpenAPI 3.1 under ``data/api/``, event schemas
and examples (``.yaml``/``.json``) under ``data/event-schemas/``, Markdown
prose under ``content/`` placing definitions by the ``definition`` shortcode.
Example files may be ``allOf`` lists of partial examples (the PDU examples).
Stand-alone schemas (the OAuth metadata) live in ``data/schemas``."""

from . import HUGO_SHORTCODE, Layout

LAYOUT = Layout(
    name="matrix-spec",
    description="matrix-spec's Hugo tree (data/, content/)",
    markers=("data/event-schemas/schema", "data/api"),
    dirs={
        "schemas": "data/event-schemas/schema",
        "examples": "data/event-schemas/examples",
        "histories": "data/event-schemas/histories",
        "api": "data/api",
        "specification": "content",
        "templates": "templates",
    },
    prose="*.md",
    example_all_of=True,
    definition_syntaxes=(HUGO_SHORTCODE,),
    definition_dirs=("data/schemas",),
)
