"""A throwaway Synapse on loopback for the interop scenarios.

Synapse lives in its own virtualenv (``make interop`` builds
``.venv-interop`` from ``interop/constraints.txt``); this module only
drives that interpreter as a child process:

* :func:`make_tls` asks trustme (installed beside Synapse) for a test CA and
  one certificate for 127.0.0.1, which both Synapse and our servers present;
* :func:`start_synapse` writes a config for one run (SQLite, 127.0.0.1 only,
  TLS on, certificates verified against the test CA, registration by shared
  secret), lets Synapse generate its signing key, starts it, and waits for
  ``/health`` over TLS with a bound;
* :meth:`Synapse.stop` ends exactly that process (by its PID) and removes
  its data.

Nothing here listens or connects anywhere but 127.0.0.1.
"""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: How long Synapse may take to answer ``/health`` after being started.
START_TIMEOUT_S = 60.0
#: How long a stopped Synapse may take to exit before it is killed.
STOP_TIMEOUT_S = 10.0
LOOPBACK = "127.0.0.1"
#: The host part of server names. Synapse refuses outright to contact a
#: server named by an IP literal in its blocklist (127.0.0.0/8 is, by
#: default), so servers are named ``localhost:<port>``; the hosts file maps
#: that to 127.0.0.1, which ``ip_range_whitelist`` then lets through.
HOST = "localhost"


@dataclass(frozen=True)
class Tls:
    """A test CA and the loopback certificate it issued (PEM files)."""

    ca_path: Path
    cert_path: Path
    key_path: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA only, checking names."""
        return ssl.create_default_context(cafile=str(self.ca_path))


def make_tls(python: str, directory: Path) -> Tls:
    """Have trustme write a fresh CA and a certificate for localhost and 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run([python, "-m", "trustme", "-q", "-d", str(directory), "-i", HOST, LOOPBACK],
                   check=True, timeout=60)
    return Tls(directory / "client.pem", directory / "server.pem", directory / "server.key")


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the test
    process dies, so a killed run leaves no Synapse behind."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


def request_json(context: ssl.SSLContext, method: str, url: str, body: Any = None,
                 headers: dict[str, str] | None = None, timeout: float = 30.0) -> Reply:
    """One HTTPS request with a JSON body (or none); the reply's status and
    body, whatever the status (parsed when it is JSON, else text)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    all_headers = dict(headers or {})
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, context=context, timeout=timeout) as response:
            status, kind, raw = response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        status, kind, raw = error.code, error.headers.get_content_type(), error.read()
    if kind == "application/json":
        return Reply(status, json.loads(raw))
    return Reply(status, raw.decode("utf-8", "replace"))


class Synapse:
    """A running Synapse child process and the files of its run."""

    def __init__(self, process: subprocess.Popen, data_dir: Path, port: int, secret: str, tls: Tls) -> None:
        self.process = process
        self.data_dir = data_dir
        self.port = port
        self.server_name = f"{HOST}:{port}"
        self.base_url = f"https://{LOOPBACK}:{port}"
        self.tls = tls
        self._secret = secret
        self._context = tls.client_context()

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        return request_json(self._context, method, self.base_url + path, body, all_headers)

    def register(self, localpart: str, *, admin: bool = False) -> str:
        """Create a user through the shared-secret admin API; its access token."""
        nonce = self.call("GET", "/_synapse/admin/v1/register").body["nonce"]
        password = secrets.token_urlsafe(16)
        signed = "\x00".join((nonce, localpart, password, "admin" if admin else "notadmin"))
        mac = hmac.new(self._secret.encode(), signed.encode(), hashlib.sha1)
        reply = self.call("POST", "/_synapse/admin/v1/register", {
            "nonce": nonce, "username": localpart, "password": password, "admin": admin,
            "mac": mac.hexdigest(),
        })
        if reply.status != 200:
            raise RuntimeError(f"registering {localpart} failed: {reply.status} {reply.body}")
        return reply.body["access_token"]

    def create_room(self, token: str, **fields: Any) -> str:
        """Create a room as the user of ``token`` (``createRoom`` body fields); its ID."""
        reply = self.call("POST", "/_matrix/client/v3/createRoom", fields, token=token)
        assert reply.status == 200, reply.body
        return reply.body["room_id"]

    def log_tail(self, lines: int = 40) -> str:
        path = self.data_dir / "synapse.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to our PID, SIGKILL after a bound, then remove the data."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT_S)
        _remove_tree(self.data_dir)


def _remove_tree(path: Path) -> None:
    for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
    path.rmdir()


def synapse_config(data_dir: Path, port: int, secret: str, tls: Tls) -> dict[str, Any]:
    """The config of one run. Certificate checks stay on: our servers are
    trusted because the test CA is listed, not because checking is off.
    127.0.0.1 is allowed past the IP blocklist (which covers it by
    default), and no other address is."""
    return {
        "server_name": f"{HOST}:{port}",
        "pid_file": str(data_dir / "homeserver.pid"),
        "report_stats": False,
        "listeners": [{
            "port": port,
            "bind_addresses": [LOOPBACK],
            "type": "http",
            "tls": True,
            "x_forwarded": False,
            "resources": [{"names": ["client", "federation", "keys"], "compress": False}],
        }],
        "tls_certificate_path": str(tls.cert_path),
        "tls_private_key_path": str(tls.key_path),
        "federation_verify_certificates": True,
        "federation_custom_ca_list": [str(tls.ca_path)],
        "ip_range_whitelist": [f"{LOOPBACK}/32"],
        "database": {"name": "sqlite3", "args": {"database": str(data_dir / "homeserver.db")}},
        "media_store_path": str(data_dir / "media"),
        "signing_key_path": str(data_dir / "signing.key"),
        "registration_shared_secret": secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "enable_metrics": False,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "default_room_version": "10",
        "rc_message": {"per_second": 1000, "burst_count": 1000},
        "rc_joins": {"local": {"per_second": 1000, "burst_count": 1000},
                     "remote": {"per_second": 1000, "burst_count": 1000}},
        "rc_invites": {"per_room": {"per_second": 1000, "burst_count": 1000},
                       "per_user": {"per_second": 1000, "burst_count": 1000},
                       "per_issuer": {"per_second": 1000, "burst_count": 1000}},
        "rc_federation": {"window_size": 1000, "sleep_limit": 1000, "reject_limit": 1000, "concurrent": 100},
        "rc_registration": {"per_second": 1000, "burst_count": 1000},
        "rc_login": {"address": {"per_second": 1000, "burst_count": 1000},
                     "account": {"per_second": 1000, "burst_count": 1000}},
        "log_config": str(data_dir / "log.yaml"),
    }


_LOG_CONFIG = {
    "version": 1,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain", "filename": None}},
    "root": {"level": "INFO", "handlers": ["file"]},
    "disable_existing_loggers": False,
}


def start_synapse(python: str, data_dir: Path, tls: Tls, *, timeout: float = START_TIMEOUT_S) -> Synapse:
    """Write the config, start Synapse, and return once ``/health`` answers.

    Raises:
        RuntimeError: Synapse exited or did not answer within ``timeout``
            (it is stopped and its log tail is in the message).
    """
    data_dir.mkdir(parents=True)
    port, secret = free_port(), secrets.token_hex(16)
    log_config = dict(_LOG_CONFIG, handlers={"file": dict(_LOG_CONFIG["handlers"]["file"],
                                                          filename=str(data_dir / "synapse.log"))})
    (data_dir / "log.yaml").write_text(json.dumps(log_config))
    config_path = data_dir / "homeserver.yaml"
    config_path.write_text(json.dumps(synapse_config(data_dir, port, secret, tls), indent=1))
    with open(data_dir / "stdio.log", "wb") as stdio:
        process = subprocess.Popen(
            [python, "-m", "synapse.app.homeserver", "--config-path", str(config_path)],
            stdin=subprocess.DEVNULL, stdout=stdio, stderr=subprocess.STDOUT, cwd=data_dir,
            preexec_fn=_die_with_parent,
            # Identity servers are reached by Synapse's plain HTTPS client,
            # which trusts OpenSSL's default store: point it at the test CA.
            env={**os.environ, "SSL_CERT_FILE": str(tls.ca_path)},
        )
    synapse = Synapse(process, data_dir, port, secret, tls)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = (data_dir / "stdio.log").read_text(errors="replace")[-4000:]
            tail = synapse.log_tail()
            synapse.stop()
            raise RuntimeError(f"Synapse exited with {process.returncode}:\n{output}\n{tail}")
        try:
            if synapse.call("GET", "/health").status == 200:
                return synapse
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            tail = synapse.log_tail()
            synapse.stop()
            raise RuntimeError(f"Synapse did not answer /health within {timeout:.0f} s:\n{tail}")
        time.sleep(0.2)
