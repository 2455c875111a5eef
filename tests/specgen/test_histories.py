"""The third-party-invite histories as written in the repository are what
refimpl's handlers answer, step by step, for the inputs the history records."""

from __future__ import annotations

import json

import pytest

from conftest import REPO
from refimpl.events import Event
from refimpl.factories import ALICE, CAROL, IDENTITY_SERVER
from refimpl.identity_service import StoredInvite, onbind_payload, pubkey_is_valid, store_invite
from refimpl.room_versions import room_version
from refimpl.state import RoomState
from refimpl.test_keys import signing_key_for
from refimpl.third_party_invites import (
    handle_exchange_third_party_invite,
    handle_onbind,
    key_validity_requests,
    make_exchange_third_party_invite,
    read_key_validity_answer,
    third_party_invite_content,
)
from specgen.histories import EPHEMERAL_KEY, replay

ADDRESS = "carol@third.example.net"
IDENTITY_KEY = signing_key_for(IDENTITY_SERVER)


@pytest.mark.parametrize("version", ["1", "3", "10", "12"])
def test_third_party_invite_history_is_the_handlers_answers(version):
    history = json.loads((REPO / f"event-schemas/histories/third-party-invite-v{version}.json").read_text())
    rv = room_version(history["room_version"])
    events = [Event.from_pdu(pdu, rv) for pdu in history["events"]]
    (at,) = [i for i, e in enumerate(events) if e.type == "m.room.third_party_invite"]
    third_party, invite, join = events[at:]
    state = RoomState()
    for event in events[:at]:
        state = state.apply(event)

    # The identity server's answer to store-invite is the event's content.
    _, answer = store_invite(
        {"medium": "email", "address": ADDRESS, "room_id": third_party.room_id, "sender": ALICE},
        base_url=f"https://{IDENTITY_SERVER}", long_term_key=IDENTITY_KEY, ephemeral_key=EPHEMERAL_KEY,
        token=third_party.state_key,
    )
    assert (third_party.sender, third_party.content) == (ALICE, third_party_invite_content(answer))

    # The binding, H3's exchange request and H1's decision give the invite.
    stored = StoredInvite(third_party.state_key, "email", ADDRESS, third_party.room_id, ALICE,
                          EPHEMERAL_KEY.verify_key.public_base64)
    onbind = onbind_payload("email", ADDRESS, CAROL, [stored], server_name=IDENTITY_SERVER, long_term_key=IDENTITY_KEY)
    (bound,) = handle_onbind(onbind, our_server_name="third.example.net")
    _, skeleton = make_exchange_third_party_invite(bound)
    state = state.apply(third_party)
    queries = key_validity_requests(invite.room_id, skeleton, state)
    validity = {q.url: read_key_validity_answer(200, pubkey_is_valid(q.public_key, [IDENTITY_KEY.verify_key.public_base64]))
                for q in queries}
    fields = handle_exchange_third_party_invite(invite.room_id, skeleton, state, validity)
    assert {k: invite.pdu[k] for k in fields} == fields
    assert sorted(invite.pdu["signatures"]) == ["example.org", "third.example.net"]
    assert (join.type, join.sender, join.content["membership"]) == ("m.room.member", CAROL, "join")
    assert replay(history["events"], rv) == []
