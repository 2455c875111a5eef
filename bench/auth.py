"""Authorization throughput over long linear histories.

Builds histories of 10,000 and 20,000 events with RoomFactory (not timed):
mostly messages, with joins, leaves and power-level changes mixed in, so
the room state keeps growing. Then times :func:`authorize_history` with the
state-dependent rules alone, and with the signature and content-hash checks
on receipt (real ed25519 verification). The 20,000-event run against the
10,000-event one shows whether the walk stays linear.

Times are CPU time of this process, so other processes on a shared machine
inflate them less than wall-clock time would; cache contention still shows.
The count of Python function calls per size is exact whatever the load: a
ratio of 2.00x there means the work itself is linear, and any excess in the
timed ratios comes from the machine.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import time

from refimpl.auth_rules import authorize_history
from refimpl.factories import ALICE, BOB, RoomFactory
from refimpl.room_versions import V11
from refimpl.test_keys import PUBLISHED_KEYS

SIZES = (10_000, 20_000)
#: Best of several runs, since the machines are shared and noisy.
RULES_REPEATS = 7
SIGNED_REPEATS = 3
#: Moderators the power-level changes rotate through (the users map stays small).
MODERATORS = tuple(f"@mod{i}:third.example.net" for i in range(5))


def verify_keys(server: str, key_id: str):
    key = PUBLISHED_KEYS.get(server)
    return key.verify_key if key is not None and key.key_id == key_id else None


def build_history(size: int):
    """A public room's history of exactly ``size`` events."""
    room = RoomFactory.public_chat(V11)
    joined: list[str] = [BOB]
    step = 0
    while len(room.events) < size:
        step += 1
        if step % 10 == 0:
            user = f"@user{step}:remote.example.com"
            room.join(user)
            joined.append(user)
        elif step % 25 == 0 and len(joined) > 1:
            room.leave(joined.pop(0))
        elif step % 100 == 0:
            content = room.default_power_levels({m: (step // 100 + i) % 50 for i, m in enumerate(MODERATORS)})
            room.set_power_levels(ALICE, content)
        else:
            room.send_message(joined[step % len(joined)], f"message {step}")
    return room


def _time(events, room_version, **options) -> float:
    start = time.process_time()
    verdicts = authorize_history(events, room_version, **options)
    elapsed = time.process_time() - start
    refused = [v for _, v in verdicts if not v]
    if refused:
        raise SystemExit(f"bench history has rejected events: {refused[:3]}")
    return elapsed


def _best(histories, repeats: int, label: str, **options) -> dict[int, float]:
    """Best time per size; sizes alternate within each round so that load
    from other processes hits both alike."""
    best = {size: float("inf") for size in histories}
    for _ in range(repeats):
        for size, events in histories.items():
            best[size] = min(best[size], _time(events, V11, **options))
    for size, elapsed in best.items():
        print(f"{label} {size:>6} events: {elapsed:6.3f}s CPU  {size / elapsed:>9,.0f} events/s")
    return best


def _calls(events, **options) -> int:
    """Python function calls one walk makes: a measure of work that load
    cannot disturb."""
    profile = cProfile.Profile()
    profile.runcall(authorize_history, events, V11, **options)
    return pstats.Stats(profile).total_calls


def main() -> None:
    histories = {}
    for size in SIZES:
        start = time.perf_counter()
        histories[size] = build_history(size).events
        print(f"built {size:>6} events in {time.perf_counter() - start:6.2f}s (not counted)")
    # The histories are inputs: keep the collector from rescanning them, so
    # the timings measure the rules rather than the size of the heap.
    gc.collect()
    gc.freeze()
    rules_only = _best(histories, RULES_REPEATS, "state-dependent rules     ")
    with_checks = _best(
        histories, SIGNED_REPEATS, "with signatures and hashes", check_signatures=True, verify_keys=verify_keys
    )
    small, large = SIZES
    calls = {size: _calls(events, check_signatures=True, verify_keys=verify_keys) for size, events in histories.items()}
    print(f"function calls with signatures: {calls[small]:,} and {calls[large]:,}")
    print(f"ratio {large}/{small}, function calls:  {calls[large] / calls[small]:.2f}x (exact; linear: 2.00x)")
    print(f"ratio {large}/{small}, rules only:      {rules_only[large] / rules_only[small]:.2f}x (linear: 2.00x, limit 2.2x)")
    print(f"ratio {large}/{small}, with signatures: {with_checks[large] / with_checks[small]:.2f}x")
    print(f"signature and hash checks cost {with_checks[small] / rules_only[small]:.1f}x the rules alone")


if __name__ == "__main__":
    main()
