"""matrix-doc's legacy tree, as at its last RST build (``93f83aca^``):
Swagger 2.0 under ``api/``, event schemas and examples without a file
suffix under ``event-schemas/``, reStructuredText under ``specification/``
placed by ``{{definition_<api>_<folders>_<name>}}`` style placeholders,
built by ``scripts/gendoc.py``. The example values in API files refer to
other examples relative to the API folder's ``examples/``. The tree also holds a ``data/`` copy for
the Hugo site then being introduced; the legacy sources are the ones read.
gendoc.py never checked the tree, so its build is not strict: findings
are warnings, and the spec is still built."""

from . import PLACEHOLDER, Layout

LAYOUT = Layout(
    name="matrix-doc-legacy",
    description="matrix-doc's legacy RST tree (gendoc.py)",
    markers=("event-schemas/schema", "specification/targets.yaml", "scripts/gendoc.py"),
    dirs={
        "schemas": "event-schemas/schema",
        "examples": "event-schemas/examples",
        "histories": "event-schemas/histories",
        "api": "api",
        "specification": "specification",
        "templates": "templates",
    },
    bare_schemas=True,
    fallback_ref_folder="examples",
    definition_syntaxes=(PLACEHOLDER,),
    strict_build=False,
)
