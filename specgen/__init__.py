"""specgen: load, lint, validate and render a protocol specification.

Module map (the pipeline in order):

- :mod:`specgen.sources`      YAML/JSON loading, once per file, with positions
- :mod:`specgen.corpus`       where a corpus keeps what, by convention or config
- :mod:`specgen.diagnostics`  the one Diagnostic value and the Collector
- :mod:`specgen.cli`          the ``specgen`` command
"""
