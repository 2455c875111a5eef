"""RoomState: an immutable map whose successors share one table."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.state import RoomState


@dataclass(frozen=True)
class Entry:
    """The two fields RoomState reads (its StateEvent protocol), plus a tag."""

    type: str
    state_key: str | None
    tag: int = 0


def test_apply_returns_new_state_and_keeps_old():
    empty = RoomState()
    one = empty.apply(Entry("m.room.create", "", 1))
    two = one.apply(Entry("m.room.create", "", 2))
    assert len(empty) == 0
    assert one.lookup("m.room.create").tag == 1
    assert two.lookup("m.room.create").tag == 2
    assert empty.lookup("m.room.create") is None
    assert one.lookup("m.room.create").tag == 1


def test_message_events_do_not_change_state():
    state = RoomState([Entry("m.room.create", "")])
    assert state.apply(Entry("m.room.message", None)) is state


def test_mapping_interface():
    state = RoomState([Entry("m.room.member", "@a:x"), Entry("m.room.create", "")])
    assert ("m.room.member", "@a:x") in state
    assert sorted(state) == [("m.room.create", ""), ("m.room.member", "@a:x")]
    assert state[("m.room.create", "")] == Entry("m.room.create", "")
    assert state == {("m.room.member", "@a:x"): Entry("m.room.member", "@a:x"), ("m.room.create", ""): Entry("m.room.create", "")}


keys = st.tuples(st.sampled_from(["m.room.member", "m.room.name", "x"]), st.sampled_from(["", "@a:x", "@b:y"]))
steps = st.lists(st.tuples(st.integers(min_value=0, max_value=20), keys), max_size=40)


@settings(max_examples=100, deadline=None)
@given(steps, st.lists(st.integers(min_value=0, max_value=40), max_size=20))
def test_every_version_keeps_its_value(steps, reads):
    """Every state ever produced, read in any order, equals the plain dict it stood for when made."""
    states = [RoomState()]
    models = [{}]
    for n, (parent, (event_type, state_key)) in enumerate(steps):
        parent %= len(states)
        entry = Entry(event_type, state_key, n)
        states.append(states[parent].apply(entry))
        models.append({**models[parent], (event_type, state_key): entry})
    for index in reads:
        index %= len(states)
        assert dict(states[index].items()) == models[index]
    for state, model in zip(states, models):
        assert dict(state.items()) == model


def _walk(n: int) -> float:
    entries = [Entry("m.room.member", f"@u{i}:x", i) for i in range(n)]
    start = time.perf_counter()
    state = RoomState()
    for entry in entries:
        state = state.apply(entry)
        state.lookup("m.room.member", entry.state_key)
    return time.perf_counter() - start


def test_linear_walk_is_linear():
    """A linear walk over 8x the events (and 8x the members) takes well under 8x squared the time."""
    _walk(2000)
    small = min(_walk(5000) for _ in range(3))
    large = min(_walk(40000) for _ in range(3))
    assert large / small < 16
