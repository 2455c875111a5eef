"""specgen: load, lint, validate, verify and render a protocol specification.

Module map, in pipeline order:

Loading
- :mod:`specgen.layouts`      the known tree layouts, one declarative profile each
- :mod:`specgen.corpus`       where a corpus keeps what, by its layout or config
- :mod:`specgen.sources`      YAML/JSON loading, once per file, positions on demand
- :mod:`specgen.refs`         one ``$ref`` resolver (local files only) for every stage
- :mod:`specgen.openapi`      OpenAPI 3.x and Swagger 2.0 -> one Endpoint model
- :mod:`specgen._cache`       verdict and parse caches in the user's cache folder

Checking
- :mod:`specgen.lint`         the rule registry (``specgen lint``, ``specgen rules``)
- :mod:`specgen.script_uris`  links and markup a browser would run as script (a corpus may not publish them)
- :mod:`specgen.examples`     every example against its schema (``specgen validate``)
- :mod:`specgen.histories`    example room histories, declared and replayed through refimpl
- :mod:`specgen.verify`       signatures, hashes, IDs and auth verdicts proven by refimpl
- :mod:`specgen.example_signing`  ``specgen examples --sign/--check``: computed values in place
- :mod:`specgen.diff`         ``specgen diff OLD NEW``: changes between two corpora, breaking or not
- :mod:`specgen.differences`  the reviewed record of differences ``make compat`` holds a comparison to
- :mod:`specgen.flows`        scenarios on loopback, every exchange held against ``api/`` (``specgen flows``)
- :mod:`specgen.flow_scenarios`  the named scenarios, each with its narrative

Rendering
- :mod:`specgen.event_schemas`  event schema -> event section model
- :mod:`specgen.tables`       type column and table models (pure)
- :mod:`specgen.targets`      which prose files form which page (ours, and gendoc.py's format)
- :mod:`specgen.changelogs`   an API's changelog for one release (towncrier news fragments)
- :mod:`specgen.placeholders` registry: placeholder kind -> builder + template
- :mod:`specgen.rst`          docutils publishing, placeholders as pending nodes
- :mod:`specgen.file_parts`   a large prose file cut into parts rendered on their own, and joined (a preview's)
- :mod:`specgen.page_contents`  page-wide section numbers and contents over a page's files
- :mod:`specgen.build`        the pipeline and its all-or-nothing write
- :mod:`specgen.build_command`  ``specgen build``: its arguments, the checks started beside the render
- :mod:`specgen.serve`        live-reload preview (``specgen serve``)

Reporting
- :mod:`specgen.diagnostics`  the one Diagnostic value and the Collector
- :mod:`specgen.render_diagnostics`  text, JSON, GitHub and SARIF renderers
- :mod:`specgen.cli`          the ``specgen`` command
- :mod:`specgen.init`         ``specgen init``: a new corpus from the starter
"""

#: The one place the version is written (``pyproject.toml`` reads it).
__version__ = "0.1.0"
