"""specgen as another project gets it: the wheel in a fresh virtualenv
outside this checkout, and the pre-commit hooks from this repository.

Both install from a wheelhouse of exactly the pinned dependencies
(``constraints.txt``) with ``--no-index``, so a dependency the wheel forgets
to declare fails the import in the fresh environment, and no run after the
first needs the network. The wheelhouse lives in the user's cache folder,
keyed by the pins, and is filled once with ``pip wheel`` (from pip's own
cache or the configured index).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from specgen import __version__

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
#: What the wheel needs, and what pre-commit's isolated build of this repository needs.
REQUIREMENTS = (*PYPROJECT["project"]["dependencies"], *PYPROJECT["build-system"]["requires"])
#: The session a new user runs, in an empty folder.
SESSION = (
    ("specgen", "--version"),
    ("specgen", "init"),
    ("specgen", "check"),
    ("specgen", "lint"),
    ("specgen", "validate"),
    ("specgen", "verify"),
    ("specgen", "examples", "--check"),
    ("specgen", "build"),
    ("python", "-m", "refimpl", "--list"),
)


def run(*args, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """Wheels of every pinned dependency, made once per set of pins."""
    key = hashlib.sha256("\n".join([CONSTRAINTS.read_text("utf-8"), *REQUIREMENTS]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "specgen" / "test-wheelhouse" / key
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
        run(sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", staging, "-c", CONSTRAINTS, *REQUIREMENTS,
            cwd=staging, timeout=600)
        try:
            staging.rename(folder)
        except OSError:  # another worker made it first
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def outside_env(tmp: Path, venv: Path | None = None, **extra: str) -> dict[str, str]:
    """An environment that knows nothing of this checkout or its venv."""
    path = [str(venv / "bin")] if venv else []
    env = {"PATH": os.pathsep.join([*path, "/usr/local/bin", "/usr/bin", "/bin"]), "HOME": str(tmp),
           "XDG_CACHE_HOME": str(tmp / "cache"), "LANG": "C.UTF-8", **extra}
    return env


def test_the_wheel_works_in_a_fresh_virtualenv_outside_the_checkout(tmp_path, wheelhouse):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, source / name)
    for package in ("specgen", "refimpl"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp_path / "dist", source, cwd=tmp_path)
    wheel, = (tmp_path / "dist").glob("specgen-*.whl")
    assert len(list((tmp_path / "dist").glob("specgen-*.tar.gz"))) == 1
    names = zipfile.ZipFile(wheel).namelist()
    assert {"specgen/templates/page.html", "specgen/static/search.js",
            "specgen/starter/event-schemas/examples/m.room.create"} <= set(names)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", "--no-compile", "--no-index",
        "--find-links", wheelhouse, "-c", CONSTRAINTS, wheel, cwd=tmp_path)

    work = tmp_path / "work"
    work.mkdir()
    env = outside_env(tmp_path, venv)
    where = run("python", "-c", "import specgen, refimpl; print(specgen.__file__); print(refimpl.__file__)",
                cwd=work, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    outputs = [run(*command, cwd=work, env=env) for command in SESSION]
    assert outputs[0].stdout.startswith(f"specgen {__version__} (refimpl: room versions 1-")
    assert "sign-event" in outputs[-1].stdout
    assert not [o for o in outputs[2:-2] if o.stdout], "the checks report nothing on a new corpus"

    # The HTML the browser test loads (tests/browser: the "init" site, built
    # from this checkout) is byte for byte what the installed wheel built.
    from specgen.build import build_site
    from specgen.cli import main
    from specgen.corpus import Corpus

    assert main(["init", str(tmp_path / "here")]) == 0
    here = build_site(Corpus(tmp_path / "here")).files
    written = {p.relative_to(work / "build" / "html").as_posix(): p.read_bytes()
               for p in (work / "build" / "html").rglob("*") if p.is_file()}
    assert written == dict(here)


def test_the_hooks_run_through_pre_commit_on_a_fixture_repository(tmp_path, wheelhouse):
    """One pre-commit run (each run installs this repository afresh): on a
    new corpus with one API example broken, lint passes, and validate and
    check fail at the broken value."""
    from specgen.cli import main

    repo = tmp_path / "repo"
    assert main(["init", str(repo)]) == 0
    api = repo / "api" / "server-server" / "version.yaml"
    head, _, tail = api.read_text().rpartition("version: 1.0.0")  # the example's, not info's
    api.write_text(f"{head}version: 1{tail}")
    hooks = [h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())]
    assert hooks == ["specgen-lint", "specgen-validate", "specgen-check"]
    git = outside_env(tmp_path, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
                      GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    for command in (("init", "-q"), ("add", "-A"), ("commit", "-q", "-m", "a new spec")):
        run("git", *command, cwd=repo, env=git)
    env = {**git, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(wheelhouse), "PIP_CONSTRAINT": str(CONSTRAINTS), "PIP_NO_COMPILE": "1"}
    done = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "--all-files"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    verdicts = {line.split(".")[0]: line.rsplit(".", 1)[-1] for line in done.stdout.splitlines()
                if line.startswith("specgen ") and line.rstrip().endswith(("Passed", "Failed"))}
    assert verdicts == {"specgen lint": "Passed", "specgen validate": "Failed", "specgen check": "Failed"}, done.stdout
    assert "api/server-server/version.yaml:38:32: error[example.invalid]" in done.stdout and "example.invalid" in done.stdout
