# Every target bootstraps its own virtualenv from the pinned constraints,
# so a fresh clone needs nothing but Python 3.11, pip and apt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SPECGEN := $(BIN)/specgen

.PHONY: spec test lint bench serve browser clean compat interop interop-venv

# Synapse, for `make interop`, lives in a virtualenv of its own so that
# .venv stays small; every package of it is pinned in interop/constraints.txt.
INTEROP_VENV  := .venv-interop
INTEROP_STAMP := $(INTEROP_VENV)/.installed

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

# Debian's Chromium and its matching driver, for the browser tests.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

spec: $(STAMP)
	$(SPECGEN) build

# The corpus must lint, validate, verify with refimpl, and hold no example
# value that `specgen examples --sign` would change.
lint: $(STAMP)
	$(SPECGEN) lint
	$(SPECGEN) validate
	$(SPECGEN) verify
	$(SPECGEN) examples --check

# Our spec held against the public Matrix specification (a matrix-spec
# checkout): every difference in the endpoints, events and definitions both
# define is fixed, or kept with its reason in specification/differences.yaml.
# With CORPORA="DIR...", `specgen check` first runs on each of those real
# trees (layout found, contents, examples validated, diagnostics by code,
# wall time; see README).
MATRIX_SPEC ?= /work/corpora/matrix-spec
compat: $(STAMP)
	$(if $(CORPORA),$(BIN)/python -m bench.compat $(CORPORA))
	$(SPECGEN) diff --common-only --record specification/differences.yaml --fail-on info $(MATRIX_SPEC) .

test: $(STAMP) browser lint
	$(BIN)/python -m pytest -n 2

$(INTEROP_STAMP): interop/constraints.txt
	test -x $(INTEROP_VENV)/bin/python || $(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -m pip install -q -c interop/constraints.txt matrix-synapse trustme
	touch $@

interop-venv: $(INTEROP_STAMP)

# refimpl and our api/ against a real Synapse on 127.0.0.1 over TLS
# (tests/interop; a plain `make test` skips them).
interop: $(STAMP) $(INTEROP_STAMP)
	SPECGEN_SYNAPSE_PYTHON=$(abspath $(INTEROP_VENV))/bin/python $(BIN)/python -m pytest tests/interop -rs

# MATRIX_SPEC (a matrix-spec checkout, when it exists) gives the check
# benchmark its real row; MATRIX_SPEC_PYTHON is an interpreter with its
# scripts' deps.
bench: $(STAMP)
	MATRIX_SPEC="$(MATRIX_SPEC)" MATRIX_SPEC_PYTHON="$(MATRIX_SPEC_PYTHON)" $(BIN)/python -m bench

serve: $(STAMP)
	$(SPECGEN) serve

clean:
	rm -rf $(VENV) $(INTEROP_VENV) build out
