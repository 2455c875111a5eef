"""Bad invite requests over HTTP get the spec's answer: H1 sends each
(X-Matrix signed, so only the invite rules can refuse it) to H2, checks the
status and errcode, then that H2 still serves."""

from __future__ import annotations

import pytest

from refimpl.event_signing import sign_event
from refimpl.events import Event
from refimpl.factories import ALICE, BOB, CAROL, RoomFactory
from refimpl.invites import APIS, InviteApi
from refimpl.transport.http_client import target
from specgen.flow_scenarios import H1, H2, H3
from specgen.flows import Federation, server_signing_key

from flowkit import run


def invite_of(version: str, invitee: str = BOB):
    """A room of ``version`` with Alice alone, and her invite of ``invitee``, signed by H1."""
    factory = RoomFactory.invite_only(version)
    invite = factory.member(ALICE, invitee, "invite", commit=False)
    return factory, dict(invite.pdu)


def path(api: InviteApi, room_id: str, event_id: str | None = None) -> str:
    form = APIS[api]
    if form.path_has_event_id:
        return target(form.path_prefix + "/{r}/{e}", r=room_id, e=event_id)
    return target(form.path_prefix + "/{r}", r=room_id)


def v2(version="11", *, room_id=None, event_id=None, room_version=None, event_change=None, forged=False,
       invitee=BOB):
    factory, pdu = invite_of(version, invitee)
    if forged:  # signed in H1's name with another server's key: the event ID does not change
        bare = {k: v for k, v in pdu.items() if k != "signatures"}
        pdu = sign_event(bare, factory.room_version, H1, server_signing_key(H3))
    event = Event.from_pdu(pdu, factory.room_version)
    body = {"room_version": room_version or version, "event": {**pdu, **(event_change or {})}, "invite_room_state": []}
    return {"path": path(InviteApi.V2, room_id or event.room_id, event_id or event.event_id), "body": body}


def v3(version="12", state=None, room_id=None):
    factory, pdu = invite_of(version)
    create = dict(factory.events[0].pdu)
    body = {"event": pdu, "invite_room_state": [], "state": state(create) if state else [create]}
    return {"path": path(InviteApi.V3, room_id or factory.room_id), "body": body}


CASES = {
    "v3-for-room-version-1": (lambda: v3("1"), 400, "M_INVALID_PARAM"),
    "v3-for-room-version-2": (lambda: v3("2"), 400, "M_INVALID_PARAM"),
    "v3-no-create-event": (lambda: v3(state=lambda create: [{**create, "type": "m.room.name"}]), 400, "M_INVALID_PARAM"),
    "v3-several-create-events": (lambda: v3(state=lambda create: [create, create]), 400, "M_INVALID_PARAM"),
    "v3-create-state-key-not-empty": (lambda: v3(state=lambda create: [{**create, "state_key": "x"}]),
                                      400, "M_INVALID_PARAM"),
    "v3-path-room-mismatch": (lambda: v3(room_id="!other:example.org"), 400, "M_INVALID_PARAM"),
    "v2-unknown-room-version": (lambda: v2(room_version="99"), 400, "M_INCOMPATIBLE_ROOM_VERSION"),
    "v2-path-room-mismatch": (lambda: v2(room_id="!other:example.org"), 400, "M_INVALID_PARAM"),
    "v2-path-event-mismatch": (lambda: v2(event_id="$other"), 400, "M_INVALID_PARAM"),
    "v2-forged-signature": (lambda: v2(forged=True), 403, "M_FORBIDDEN"),
    "v2-content-hash-mismatch": (lambda: v2(event_change={"content": {"membership": "invite", "reason": "x"}}),
                                 400, "M_INVALID_PARAM"),
    "v2-invitee-of-another-server": (lambda: v2(invitee=CAROL), 400, "M_INVALID_PARAM"),
}


async def send(request):
    async with Federation() as fed:
        h1 = await fed.homeserver(H1)
        await fed.homeserver(H2)
        answer = await h1.client.request(H2, "PUT", request["path"], body=request["body"], sign=True)
        after = await fed.client().request(H2, "GET", "/_matrix/key/v2/server")
        return answer, after.status


@pytest.mark.parametrize("case", list(CASES))
def test_bad_invite(case):
    build, status, errcode = CASES[case]
    answer, after = run(send(build()))
    assert (answer.status, answer.errcode) == (status, errcode), answer.response_body
    assert after == 200


def test_incompatible_room_version_names_it():
    answer, _ = run(send(v2(room_version="99")))
    assert answer.response_body["room_version"] == "99"
