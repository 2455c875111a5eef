"""RoomState: an immutable map whose successors share one table."""

from __future__ import annotations

import tracemalloc
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


def test_successors_share_one_table():
    """Keeping every state of a walk alive costs O(1) memory per event, however large the state."""
    state = RoomState(Entry("m.room.member", f"@u{i}:x") for i in range(20_000))
    kept = [state]
    entries = [Entry("m.room.member", f"@u{i}:x", 1) for i in range(1_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for entry in entries:
            kept.append(kept[-1].apply(entry))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # A copied table of 20,000 entries would take over 500 KB per event.
    assert grown < len(entries) * 1_000
    assert kept[0].lookup("m.room.member", "@u5:x").tag == 0
    assert kept[-1].lookup("m.room.member", "@u5:x").tag == 1
