"""``specgen init`` and ``specgen --version``, through the CLI's own
``main`` (the installed-wheel test in tests/packaging runs the same
session in a fresh virtualenv)."""

from __future__ import annotations

import json

import pytest

from refimpl.room_versions import ROOM_VERSIONS
from specgen import __version__
from specgen.cli import main
from specgen.init import starter_files

CHECKS = (["check"], ["lint"], ["validate"], ["verify"], ["examples", "--check"])


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    folder = tmp_path_factory.mktemp("init") / "new-spec"
    assert main(["init", str(folder)]) == 0
    return folder


@pytest.mark.parametrize("command", CHECKS, ids=" ".join)
def test_every_check_passes_on_a_new_corpus_with_nothing_to_report(started, command, capsys):
    assert main(["--root", str(started), "--fail-on", "info", *command]) == 0
    assert capsys.readouterr().out == ""


def test_a_new_corpus_builds_a_page_with_its_event_and_endpoint(started, tmp_path):
    assert main(["--root", str(started), "--fail-on", "info", "build", "--out", str(tmp_path / "html")]) == 0
    page = (tmp_path / "html" / "index.html").read_text("utf-8")
    assert 'id="m.room.create"' in page and "/_matrix/federation/v1/version" in page


def test_a_new_corpus_holds_its_own_history_and_none_of_this_projects_stories(started, tmp_path):
    """The walk-through stories of this project's spec are written only
    where a corpus asks for them (``declared_histories = true``)."""
    assert sorted(p.name for p in (started / "event-schemas/histories").iterdir()) == ["example-room-v12.json"]
    import shutil

    asking = shutil.copytree(started, tmp_path / "asking")
    config = asking / "specgen.toml"
    config.write_text("declared_histories = true\n" + config.read_text("utf-8"), "utf-8")
    assert main(["--root", str(asking), "examples", "--check"]) == 1
    assert main(["--root", str(asking), "examples", "--sign"]) == 0
    written = {p.name for p in (asking / "event-schemas/histories").iterdir()}
    assert {"third-party-invite-v12.json", "remote-invite-v1.json"} <= written


def test_the_example_ids_are_the_ones_refimpl_computed(started):
    example = json.loads((started / "event-schemas/examples/m.room.create").read_text())
    history = json.loads((started / "event-schemas/histories/example-room-v12.json").read_text())
    event = history["events"][0]
    assert example["event_id"].startswith("$") and example["room_id"] == "!" + example["event_id"][1:]
    assert event["signatures"]["example.org"]["ed25519:1"]
    assert (event["type"], event["content"]) == (example["type"], example["content"])


def test_a_tampered_history_fails_verify(started, tmp_path, capsys):
    import shutil

    copy = shutil.copytree(started, tmp_path / "copy")
    path = copy / "event-schemas/histories/example-room-v12.json"
    history = json.loads(path.read_text())
    signatures = history["events"][0]["signatures"]["example.org"]
    signatures["ed25519:1"] = signatures["ed25519:1"].swapcase()
    path.write_text(json.dumps(history))
    assert main(["--root", str(copy), "--format", "json", "verify"]) == 1
    assert "verify.signature" in {d["code"] for d in json.loads(capsys.readouterr().out)}


def test_init_never_overwrites(started, capsys):
    before = {p: p.read_bytes() for p in started.rglob("*") if p.is_file()}
    assert main(["init", str(started)]) == 2
    assert "nothing was written" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in started.rglob("*") if p.is_file()} == before


def test_the_workflow_installs_this_version():
    workflow = starter_files()[".github/workflows/spec.yml"].decode()
    assert f'specgen=={__version__}"' in workflow and "--format github" in workflow and "--format sarif" in workflow


def test_version_names_the_room_versions_refimpl_knows(capsys):
    assert main(["--version"]) == 0
    first, last = list(ROOM_VERSIONS)[0], list(ROOM_VERSIONS)[-1]
    assert capsys.readouterr().out.startswith(f"specgen {__version__} (refimpl: room versions {first}-{last}")
