"""refimpl: an executable reference implementation of the federation protocol.

Pure protocol logic over plain, immutable data; no I/O outside
:mod:`refimpl.transport`. Never imports specgen.

Module map:

- :mod:`refimpl.errors`         M_* codes and the one exception hierarchy
- :mod:`refimpl.room_versions`  room versions 1-12 as a table of deltas
- :mod:`refimpl.canonical_json` the one byte encoding signatures and hashes cover
- :mod:`refimpl.unpadded_base64` the protocol's Base64 (both alphabets, no padding)
- :mod:`refimpl.keys`           ed25519 signing and verify keys, key IDs
- :mod:`refimpl.signing`        sign_json / verify_json (new objects, verdicts as values)
- :mod:`refimpl.test_keys`      published test keys (appendix seed + fixed seeds)
- :mod:`refimpl.redaction`      the redaction algorithm per room version
- :mod:`refimpl.hashing`        content hashes and reference hashes
- :mod:`refimpl.event_ids`      event IDs per room version; v12 room IDs
- :mod:`refimpl.events`         frozen Event model over a PDU, and build_pdu
- :mod:`refimpl.event_signing`  sign_event; signature and hash checks on receipt
- :mod:`refimpl.identifiers`    user, room, event and key IDs; server names (grammars quoted)
- :mod:`refimpl.server_keys`    publishing keys, notary queries and answers, key validity
- :mod:`refimpl.request_auth`   X-Matrix request signing, header grammar, verification
- :mod:`refimpl.invites`        PUT /invite v1, v2 and the v3 proposal: handle_invite, plan_invite
- :mod:`refimpl.third_party_invites` onbind, exchange_third_party_invite, signed checks, key_validity_url
- :mod:`refimpl.identity_service` store-invite, sign-ed25519, pubkey isvalid, the onbind payload
- :mod:`refimpl.state`          immutable room state keyed by (type, state_key)
- :mod:`refimpl.auth_rules`     auth-event selection, receipt checks, the rules per version
- :mod:`refimpl.factories`      RoomFactory presets: real signed histories for tests and examples
- :mod:`refimpl.oracle`         JSON-lines oracle for other implementations (``python -m refimpl``)
- :mod:`refimpl.transport`      the only I/O: aiohttp servers and clients per role, on loopback
"""
