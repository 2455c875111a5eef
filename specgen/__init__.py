"""specgen: load, lint, validate and render a protocol specification.

Module map (the pipeline in order):

- :mod:`specgen.sources`      YAML/JSON loading, once per file, with positions
- :mod:`specgen.corpus`       where a corpus keeps what, by convention or config
- :mod:`specgen.diagnostics`  the one Diagnostic value and the Collector
- :mod:`specgen.refs`         one ``$ref`` resolver (local files only) for every stage
- :mod:`specgen.examples`     every example against its schema (``specgen validate``)
- :mod:`specgen.render_diagnostics`  text, JSON, GitHub and SARIF renderers
- :mod:`specgen.cli`          the ``specgen`` command
"""
