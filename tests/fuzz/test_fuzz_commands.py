"""Invariant: a corpus written by an attacker or a careless writer (alias
bombs, 10^5-deep nesting, duplicate keys, random bytes, huge files,
references and links out of the corpus, raw HTML and file insertion,
script in links, descriptions and templates, prose nested past docutils'
stack) ends
every command in seconds, under 500 MB, with exit 1 and a located
diagnostic for each file, never a traceback or a signal; and a running
``specgen serve`` reports each such edit over HTTP and recovers when the
file is fixed.

Subprocesses are the expensive part, so every attack sits in one corpus and
each command runs once over all of them (five runs), and serve is one
process that goes through every edit. Hypothesis covers the same loaders in
process (tests/fuzz/test_fuzz_sources.py)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOOD = REPO / "tests" / "corpora" / "build" / "good"
DEEP = 100_000
PEAK_BYTES = 500 * 1024 * 1024
SECONDS = 60  # far above the few seconds each run takes on a loaded 2-core machine

_LETTERS = "abcdefghi"
ALIAS_BOMB = "type: object\nx: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"x{i}: &{_LETTERS[i + 1]} [{', '.join(['*' + _LETTERS[i]] * 9)}]\n" for i in range(8))
DEEP_JSON = '{"content":\n' + "[" * DEEP + "]" * DEEP + "}\n"
DEEP_BLOCK = "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /x:\n    " + "- " * DEEP + "x\n"
DUPLICATE_JSON = '{"type": "m.room.member",\n "content": {"membership": "join"},\n "content": {"membership": "ban"}}\n'
DUPLICATE_YAML = "type: object\nproperties:\n  a: {type: string}\n  a: {type: integer}\n"
RANDOM_BYTES = random.Random(10).randbytes(3000)
HUGE = '{"content": {"body": "' + "x" * (6 * 1024 * 1024) + '"}}'
SECRET = "hunter2-do-not-publish"
OUTSIDE_REFS = ("type: object\nproperties:\n  a:\n    $ref: {secret}\n  b:\n    $ref: ../../../../../../../../../..{secret}\n"
                "  c:\n    $ref: file://{secret}\n")
PROSE = "\n\n.. include:: {secret}\n\n.. raw:: html\n\n   <script>alert(1)</script>\n"
SCRIPTED_PROSE = "\n\nSee `the guide <JavaScript:alert(document.cookie)>`_ and javascript:alert(2).\n"
NESTED_PROSE = "\n\n" + "- " * 400 + "deep\n"
SCRIPTED_SCHEMA = "type: object\ndescription: Read [the guide](JaVaScRiPt:alert(1)) first.\n"
SCRIPTED_TEMPLATE = '<section><img src="x.png" onerror="alert(document.cookie)">{{ section.title }}</section>\n'


def _nested_schema(levels: int, leaf: str) -> str:
    """An object schema whose property ``a`` nests ``levels`` objects deep."""
    text, indent = "type: object\ndescription: nested\nproperties:\n", "  "
    for i in range(levels):
        text += f"{indent}a:\n{indent}  type: object\n{indent}  description: level {i}\n{indent}  properties:\n"
        indent += "    "
    return text + f"{indent}b: {leaf}\n"


def _within_the_limits(schemas: Path, examples: Path) -> None:
    """Files as deep as the loader allows, and a chain of references whose
    inlined form is deeper still: every walk (position index, inlining,
    tables, signing, JSON dumps) must cope, so these add no error of their own
    beyond ``ref.too-deep``."""
    chain = [f"core/chain{i}.yaml" for i in range(4)]
    (schemas / "m.nested.yaml").write_text(_nested_schema(20, "{$ref: %s}" % chain[0]))
    for i, name in enumerate(chain):
        leaf = "{$ref: %s}" % Path(chain[i + 1]).name if i + 1 < len(chain) else "{type: string, description: leaf}"
        (schemas / name).write_text(_nested_schema(24, leaf))
    content = "1"
    for _ in range(97):
        content = '{"a": ' + content + "}"
    (examples / "m.nested").write_text('{"type": "m.nested", "content": ' + content + "}\n")


def _attack_corpus(root: Path, secret: Path) -> dict[str, tuple[str, str]]:
    """The project's own corpus with every attack added; returns
    ``{display path: (code, which commands must report it)}``."""
    for name in ("api", "event-schemas", "specification"):
        shutil.copytree(REPO / name, root / name)
    schemas, examples = root / "event-schemas/schema", root / "event-schemas/examples"
    (schemas / "m.bomb.yaml").write_text(ALIAS_BOMB)
    (schemas / "m.dup.yaml").write_text(DUPLICATE_YAML)
    (schemas / "m.leak.yaml").write_text(OUTSIDE_REFS.format(secret=secret))
    (examples / "m.room.member$deep").write_text(DEEP_JSON)
    (examples / "m.room.member$dup").write_text(DUPLICATE_JSON)
    (examples / "m.room.member$bytes").write_bytes(RANDOM_BYTES)
    (examples / "m.room.member$huge").write_text(HUGE)
    (examples / "m.room.member$link").symlink_to(secret)
    (root / "api/server-server/deep.yaml").write_text(DEEP_BLOCK)
    _within_the_limits(schemas, examples)
    prose, scripted, nested = sorted((root / "specification").glob("*.rst"))[:3]
    prose.write_text(prose.read_text() + PROSE.format(secret=secret) + "\n{{m_nested_event}}\n")
    scripted.write_text(scripted.read_text() + SCRIPTED_PROSE)
    nested.write_text(nested.read_text() + NESTED_PROSE)
    (schemas / "m.script.yaml").write_text(SCRIPTED_SCHEMA)
    (root / "templates").mkdir()
    (root / "templates/event.html").write_text(SCRIPTED_TEMPLATE)
    (root / "templates/page.html").symlink_to(secret)
    every, data = "lint validate verify examples build", "lint verify examples build"
    return {
        scripted.relative_to(root).as_posix(): ("rst.unsafe-link", "build"),
        nested.relative_to(root).as_posix(): ("rst.too-deep", "build"),
        "event-schemas/schema/m.script.yaml": ("description.unsafe-link", "lint build"),
        "templates/event.html": ("build.template", "build"),
        "templates/page.html": ("build.template", "build"),
        "event-schemas/examples/m.room.member$deep": ("syntax.too-deep", every),
        "event-schemas/examples/m.room.member$dup": ("syntax.duplicate-key", every),
        "event-schemas/examples/m.room.member$bytes": ("syntax", every),
        "event-schemas/examples/m.room.member$huge": ("syntax.too-large", every),
        "event-schemas/examples/m.room.member$link": ("ref.outside-corpus", every),
        "api/server-server/deep.yaml": ("syntax.too-deep", every),
        "event-schemas/schema/m.bomb.yaml": ("syntax.alias", data),
        "event-schemas/schema/m.dup.yaml": ("syntax.duplicate-key", data),
        "event-schemas/schema/m.leak.yaml": ("ref.outside-corpus", "lint build"),
        prose.relative_to(root).as_posix(): ("rst.disabled", "build"),
    }


def _run_measured(args: list[str], cwd: Path, out: Path) -> tuple[int, float, int, str]:
    """``(exit status or -signal, seconds, peak RSS in bytes, stderr)`` of one
    run, the peak from the kernel's own accounting for that child."""
    err = out.with_suffix(".err")
    started = time.monotonic()
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        child = subprocess.Popen([sys.executable, "-m", "specgen", *args], cwd=cwd, stdout=stdout, stderr=stderr)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > SECONDS:
                child.kill()
            time.sleep(0.02)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, time.monotonic() - started, usage.ru_maxrss * 1024, err.read_text("utf-8", "replace")


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("attack")
    secret = base / "secret.txt"
    secret.write_text(f"{SECRET}\n")
    root = base / "corpus"
    return root, _attack_corpus(root, secret), base


@pytest.mark.parametrize("command", [["lint"], ["validate"], ["verify"], ["examples", "--check"],
                                     ["build", "--out", "OUT"]], ids=lambda c: c[0])
def test_every_command_reports_every_attack_quickly_and_within_memory(attacked, command):
    root, expected, base = attacked
    out = base / f"{command[0]}.json"
    args = [a if a != "OUT" else str(base / "html") for a in command]
    status, seconds, peak, stderr = _run_measured(["--root", str(root), *args, "--format", "json"], REPO, out)
    assert status == 1, stderr
    assert "Traceback" not in stderr and "Error:" not in stderr
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)
    text = out.read_text("utf-8")
    assert SECRET not in text
    found = {(d["path"], d["code"]): d for d in json.loads(text)}
    for path, (code, commands) in expected.items():
        if command[0] in commands.split():
            assert (path, code) in found, (path, code)
            assert found[(path, code)]["line"] >= (0 if code in ("syntax.too-large", "ref.outside-corpus", "build.template")
                                                    else 1)
    assert not (base / "html").exists()


# -- serve ------------------------------------------------------------------------

SCHEMA = "event-schemas/schema/m.room.message.yaml"
EXAMPLE = "event-schemas/examples/m.room.message"
EVENTS_PROSE = "specification/events.rst"


def _edits(secret: Path) -> list[tuple[str, str, bytes | None]]:
    """``(file, the code its error must carry, new bytes or None for a
    link out of the corpus)``: each edit breaks a file the pages use."""
    return [
        (SCHEMA, "syntax.alias", ALIAS_BOMB.encode()),
        (EXAMPLE, "syntax.too-deep", DEEP_JSON.encode()),
        (SCHEMA, "syntax.duplicate-key", DUPLICATE_YAML.encode()),
        (EVENTS_PROSE, "rst.source", b"Events\n======\n\n" + RANDOM_BYTES),
        (EXAMPLE, "syntax.too-large", HUGE.encode()),
        (SCHEMA, "ref.outside-corpus", f"allOf:\n  - $ref: {secret}\n".encode()),
        (EXAMPLE, "ref.outside-corpus", None),
        (EVENTS_PROSE, "rst.disabled", PROSE.format(secret=secret).encode()),
    ]


def _poll(base: str, since: str) -> dict:
    with urllib.request.urlopen(f"{base}__reload?since={since}", timeout=40) as response:
        return json.loads(response.read())


def _settle(base: str, state: dict, done) -> dict:
    """Long-poll until ``done(state)``: a save can arrive as more than one
    change, so a rebuild may come before the one this edit needs."""
    deadline = time.monotonic() + SECONDS
    while not done(state):
        assert time.monotonic() < deadline, state
        state = _poll(base, state["version"])
    return state


def test_serve_survives_every_attack_and_recovers_when_fixed(tmp_path):
    root = shutil.copytree(GOOD, tmp_path / "corpus")
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{SECRET}\n")
    server = subprocess.Popen([sys.executable, "-m", "specgen", "--root", str(root), "serve", "--port", "0"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().split()[2]
        state = _poll(base, "")
        assert state["errors"] == []
        for name, code, content in _edits(secret):
            path = root / name
            original = path.read_bytes()
            path.unlink()
            if content is None:
                path.symlink_to(secret)
            else:
                path.write_bytes(content)
            state = _settle(base, state, lambda s: any(e.startswith(name) for e in s["errors"]))
            assert server.poll() is None
            with urllib.request.urlopen(base + "index.html", timeout=20) as response:
                page = response.read().decode()
            assert name in page and f"[{code}]" in page and SECRET not in page and "<script>alert" not in page
            path.unlink()
            path.write_bytes(original)
            state = _settle(base, state, lambda s: s["errors"] == [])
        peak = int(next(line.split()[1] for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                        if line.startswith("VmHWM:"))) * 1024
        assert peak < PEAK_BYTES
    finally:
        server.send_signal(signal.SIGINT)
        try:
            out, err = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
    assert server.returncode == 0 and "Traceback" not in err, err
