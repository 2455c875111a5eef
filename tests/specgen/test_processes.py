"""The ``specgen`` process as a shell sees it: a reader that goes away,
one Ctrl-C, and a bug in specgen each end it quietly with a meaningful
status, never with a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import http.client
import time
import urllib.request

from conftest import CORPORA, REPO

GOOD = CORPORA / "build" / "good"


def _with_closed_stdout(*args: str) -> subprocess.CompletedProcess:
    """Run specgen with a standard output nobody reads: every write fails
    with EPIPE, as under ``| head -1`` once head has gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "specgen", *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120, cwd=REPO)
    finally:
        os.close(write)


def test_a_closed_stdout_ends_every_command_quietly():
    rules = _with_closed_stdout("rules")
    assert (rules.returncode, rules.stderr) == (0, "")
    faults = _with_closed_stdout("--root", str(CORPORA / "faults"), "lint", "--format", "json")
    assert faults.returncode == 1 and "Traceback" not in faults.stderr and "Error" not in faults.stderr


_BUGGY = """
import sys
from specgen import cli
def broken(corpus, args, collector):
    return None + 1
cli.COMMANDS["lint"] = cli.Command(broken, cli._no_arguments, "lint")
sys.exit(cli.main(sys.argv[1:]))
"""


def test_an_internal_error_names_a_bug_and_how_to_report_it():
    done = subprocess.run([sys.executable, "-c", _BUGGY, "--root", str(CORPORA / "clean"), "lint"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 3
    assert "bug in specgen" in done.stderr and "report" in done.stderr
    assert "Traceback" not in done.stderr and "TypeError" not in done.stderr and "NoneType" not in done.stderr
    debug = subprocess.run([sys.executable, "-c", _BUGGY, "--root", str(CORPORA / "clean"), "lint"],
                           capture_output=True, text=True, timeout=120, cwd=REPO,
                           env={**os.environ, "SPECGEN_DEBUG": "1"})
    assert "Traceback" in debug.stderr and "TypeError" in debug.stderr


def test_one_ctrl_c_stops_serve_even_with_a_page_waiting_for_reload():
    server = subprocess.Popen([sys.executable, "-m", "specgen", "--root", str(GOOD), "serve", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = server.stdout.readline()
        assert line.startswith("specgen serve: http://127.0.0.1:"), line
        base = line.split()[2]
        with urllib.request.urlopen(base + "index.html", timeout=20) as response:
            assert response.status == 200
        with urllib.request.urlopen(base + "__reload", timeout=20) as response:
            version = response.read().decode().split('"version": "')[1].split('"')[0]
        host, port = base.split("//")[1].rstrip("/").split(":")
        waiting = http.client.HTTPConnection(host, int(port), timeout=30)
        waiting.request("GET", f"/__reload?since={version}")
        time.sleep(0.5)  # let the server take the poll in, or there is nothing to wait for
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=10)
        waiting.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0 and "stopped" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
