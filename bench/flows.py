"""Load on loopback: concurrent notary queries, joins and invites against refimpl's servers.

Bounded and local: every server and client runs in this process on
127.0.0.1, ``CONCURRENCY`` clients at once, ``REQUESTS`` requests per row.
Each row reports requests per second, median and p99 latency, the errors
seen (any status but the expected one, and any exception) and the growth
of the resident set from the end of the first round to the end of the
last (flat memory: the servers keep nothing per request). The baseline,
timed in the same run, is the same load on an aiohttp handler that
answers a fixed JSON body: the cost of HTTP alone, against which each
row's ratio is given.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from aiohttp import web

from refimpl.factories import ALICE, BOB, RoomFactory
from refimpl.invites import plan_invite
from refimpl.joins import make_join_event
from refimpl.transport.http_client import HttpClient, target
from specgen.flow_scenarios import H1, H2, H3, NOTARY, alice_public_room, host_room
from specgen.flows import Federation

CONCURRENCY = 32
REQUESTS = 1500
ROUNDS = 3


def _rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def _load(send, total: int) -> tuple[float, list[float], int]:
    """``total`` calls of ``send()`` (returns True when the answer was the
    expected one) from CONCURRENCY workers; (seconds, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    per_worker = total // CONCURRENCY

    async def worker() -> None:
        nonlocal errors
        for _ in range(per_worker):
            start = time.perf_counter()
            try:
                ok = await send()
            except Exception:  # noqa: BLE001 - every failure counts as an error
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - start, latencies, errors


async def _row(label: str, send, baseline_rps: float | None) -> float:
    rss = []
    elapsed = latencies = errors = None
    total_errors = 0
    for _ in range(ROUNDS):
        elapsed, latencies, errors = await _load(send, REQUESTS)
        total_errors += errors
        rss.append(_rss_kib())
    rps = len(latencies) / elapsed
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    ratio = "" if baseline_rps is None else f"  ratio {baseline_rps / rps:5.2f}x of HTTP alone"
    print(
        f"  {label:<46} {rps:7.0f} req/s  p50 {statistics.median(ordered) * 1e3:6.2f} ms"
        f"  p99 {p99 * 1e3:6.2f} ms  errors {total_errors}  rss +{rss[-1] - rss[0]} KiB{ratio}",
        flush=True,
    )
    return rps


async def _run() -> None:
    async with Federation(record=False) as fed:
        notary = await fed.homeserver(NOTARY)
        await fed.homeserver(H2)
        await fed.homeserver(H3)
        h1 = await fed.homeserver(H1)
        h2 = fed.servers[H2]
        room = host_room(h1, alice_public_room("11"))

        fixed = web.Application()
        fixed.router.add_get("/fixed", lambda request: web.json_response({"server_keys": []}))
        await fed.loopback.start("fixed.example", fixed)

        anonymous = fed.client()
        query = target("/_matrix/key/v2/query/{s}", s=H3)
        await anonymous.request(NOTARY, "GET", query)  # the notary caches H3's document
        batch = {"server_keys": {H2: {}, H3: {"ed25519:1": {}}}}
        join_target = target("/_matrix/federation/v1/make_join/{r}/{u}", {"ver": ["11"]},
                             r=room.room_id, u="@bob:remote.example.com")
        template = await h2.client.request(H1, "GET", join_target, sign=True)
        event_id, pdu = make_join_event(template.response_body, room.room_version, H2, h2.signing_key)
        send_join = target("/_matrix/federation/v2/send_join/{r}/{e}", r=room.room_id, e=event_id)

        async def status_is(expected: int, destination: str, method: str, request_target: str,
                            client: HttpClient = anonymous, **options) -> bool:
            return (await client.request(destination, method, request_target, **options)).status == expected

        print(f"  {CONCURRENCY} concurrent clients, {REQUESTS} requests a round, {ROUNDS} rounds a row", flush=True)
        floor = await _row("HTTP alone (fixed JSON answer)", lambda: status_is(200, "fixed.example", "GET", "/fixed"), None)
        await _row("notary GET query (cached)", lambda: status_is(200, NOTARY, "GET", query), floor)
        await _row("notary POST query, 2 servers", lambda: status_is(200, NOTARY, "POST", "/_matrix/key/v2/query",
                                                                      body=batch), floor)
        await _row("make_join (X-Matrix checked)", lambda: status_is(200, H1, "GET", join_target, h2.client,
                                                                      sign=True), floor)

        async def join_again() -> bool:
            h1.rooms[room.room_id] = room  # each join enters the same room as the first
            return await status_is(200, H1, "PUT", send_join, h2.client, body=pdu, sign=True)

        await _row("send_join (signatures, auth rules)", join_again, floor)

        factory = RoomFactory.invite_only("11")
        invited = host_room(h1, factory)
        invite = factory.member(ALICE, BOB, "invite", commit=False)
        attempt = plan_invite(invite.pdu, invited.room_version)

        async def invite_bob() -> bool:
            h2.invites.clear()  # the invitee keeps each invite; the same one, every time
            return await status_is(200, H2, attempt.method, attempt.path, h1.client, body=attempt.body, sign=True)

        await _row("invite v2 (X-Matrix, signatures, countersign)", invite_bob, floor)
        assert notary.notary_cache.keys() >= {H3}


def main() -> None:
    asyncio.run(_run())
