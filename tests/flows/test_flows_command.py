"""``specgen flows`` as a command: exchange lines and verdicts, the list,
a usage error for an unknown scenario, and a failure that exits 1."""

from __future__ import annotations

import shutil

from specgen.cli import main

from flowkit import REPO


def test_runs_a_scenario_and_prints_each_exchange(capsys):
    assert main(["--root", str(REPO), "flows", "keys-direct"]) == 0
    out = capsys.readouterr().out
    assert "scenario keys-direct: ok" in out
    assert "GET /_matrix/key/v2/server (example.org -> remote.example.com) 200  ok" in out


def test_lists_scenarios_with_their_narratives(capsys):
    assert main(["--root", str(REPO), "flows", "--list"]) == 0
    out = capsys.readouterr().out
    assert "keys-notary-cache\n    The notary N answers from its cache" in out


def test_unknown_scenario_is_a_usage_error(capsys):
    assert main(["--root", str(REPO), "flows", "no-such-flow"]) == 2
    assert "no scenario no-such-flow" in capsys.readouterr().err


def test_a_definition_the_traffic_contradicts_fails_the_run(tmp_path, capsys):
    shutil.copytree(REPO / "api", tmp_path / "api")
    keys = tmp_path / "api" / "server-server" / "definitions" / "server_keys.yaml"
    keys.write_text(keys.read_text(encoding="utf-8").replace("  valid_until_ts:", "  expires_ts:", 1), encoding="utf-8")
    assert main(["--root", str(tmp_path), "--format", "json", "flows", "keys-direct"]) == 1
    captured = capsys.readouterr()
    assert '"code": "flows.response"' in captured.out and "valid_until_ts" in captured.out
    assert "scenario keys-direct: FAILED" in captured.err
