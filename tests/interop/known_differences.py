"""Where Synapse and our ``api/`` definitions (or our checks) knowingly differ.

Each entry names the exchanges it covers (method, path pattern, status),
a pattern the findings it explains match, and its label in the issue-15
note, where the evidence is written down. An exchange with a finding no
entry explains fails its scenario.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from refimpl.transport.http_client import Exchange


@dataclass(frozen=True)
class KnownDifference:
    label: str
    method: str
    path: str
    status: int
    finding: str
    note: str


KNOWN_DIFFERENCES: tuple[KnownDifference, ...] = (
    KnownDifference(
        "K2", "POST", r"/_matrix/key/v2/query", 400,
        r"status 400 is not declared|errcode M_MISSING_PARAM is not declared for status 400",
        "Synapse requires minimum_valid_until_ts in every key criterion; api/keys_query.yaml "
        "(and the Matrix spec) make it optional",
    ),
    KnownDifference(
        "J1", "PUT", r"/_matrix/federation/v1/send_join/[^/]+/[^/]+", 200,
        r"'members_omitted' was unexpected",
        "Synapse's v1 send_join answer carries members_omitted (false), a field the Matrix spec and "
        "api/joins-v1.yaml give to v2 only: Synapse builds both answers with one function",
    ),
    KnownDifference(
        "J2", "PUT", r"/_matrix/federation/v2/send_join/[^/]+/[^/]+", 200,
        r"request body at /content/avatar_url: None is not of type 'string'",
        "Synapse puts avatar_url: null in the joins it builds for users without an avatar; the "
        "Matrix spec's m.room.member (and ours) make avatar_url a string, displayname string or null",
    ),
    KnownDifference(
        "R1", "PUT", r"/_matrix/federation/v2/invite/[^/]+/[^/]+", 200,
        r"request body at /invite_room_state/\d+: Unevaluated properties are not allowed",
        "Synapse sends invite_room_state as full PDUs, as the Matrix spec requires since v1.16 "
        "(MSC4311); api/ still defines its entries as stripped state events",
    ),
    KnownDifference(
        "P1", "GET", r"/_matrix/federation/v1/query/profile", 404, r"no API definition declares",
        "Synapse asks the invitee's server for the invitee's profile before inviting; our api/ does not "
        "define the query API (outside our specification), refimpl answers 404 M_UNRECOGNIZED and "
        "Synapse goes on",
    ),
    KnownDifference(
        "H1", "GET", r"/_matrix/identity/v2/hash_details", 404, r"no API definition declares",
        "Synapse first looks the address up (hash_details, with the token as an access_token query "
        "parameter); our api/ defines no lookup API, refimpl's identity server answers 404 "
        "M_UNRECOGNIZED and Synapse goes on to store-invite",
    ),
)


def explain(exchange: Exchange, findings: tuple[str, ...]) -> str | None:
    """The labels of the known differences explaining the findings
    (``"J1+J2"``), or None when some finding has no explanation."""
    labels = []
    for finding in findings:
        label = next((known.label for known in KNOWN_DIFFERENCES
                      if known.method == exchange.method and known.status == exchange.status
                      and re.fullmatch(known.path, exchange.path) and re.search(known.finding, finding)), None)
        if label is None:
            return None
        labels.append(label)
    return "+".join(dict.fromkeys(labels)) or None
