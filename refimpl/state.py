"""Room state: the map from ``(type, state_key)`` to the state event in force.

Theory of operation (``specification/server-server-api.rst``, "Authorization
rules", which checks each event against the state before it): the state
after an event is the state before it, with the event's own
``(type, state_key)`` entry replaced when the event is a state event. A
:class:`RoomState` is an immutable value; :meth:`RoomState.apply` returns a
new state and leaves the old one readable and unchanged.

To make walking a linear history cost O(1) per event, the states that share
an ancestry share one dictionary (Baker's "rerooting" trick for persistent
arrays). Exactly one state in a family holds the dictionary; every other
state holds a one-entry difference pointing towards it. Applying an event to
the state that holds the dictionary updates it in place and turns the old
state into a difference, so the common case never copies. Reading an older
state first reverses the chain of differences between it and the holder
(cost proportional to the distance), after which it is the holder. The
observable value of every state never changes; only the sharing moves.
Families are not safe to use from several threads at once.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Protocol

__all__ = ["StateKey", "StateEvent", "RoomState"]

StateKey = tuple[str, str]


class StateEvent(Protocol):
    """What room state needs of an event (``refimpl.events.Event`` fits)."""

    @property
    def type(self) -> str: ...

    @property
    def state_key(self) -> str | None: ...


_ABSENT = object()


class _Node:
    """One version in a family: the holder of the table, or a difference."""

    __slots__ = ("table", "key", "value", "towards")

    def __init__(self, table: dict | None, key=None, value=_ABSENT, towards: "_Node | None" = None) -> None:
        self.table = table
        self.key = key
        self.value = value
        self.towards = towards


def _reroot(node: _Node) -> dict:
    """Make ``node`` the holder of its family's table and return the table."""
    if node.table is not None:
        return node.table
    path = []
    cursor = node
    while cursor.table is None:
        path.append(cursor)
        cursor = cursor.towards
    table = cursor.table
    for diff in reversed(path):
        holder = diff.towards
        previous = table.get(diff.key, _ABSENT)
        if diff.value is _ABSENT:
            del table[diff.key]
        else:
            table[diff.key] = diff.value
        holder.table, holder.key, holder.value, holder.towards = None, diff.key, previous, diff
        diff.table, diff.key, diff.value, diff.towards = table, None, _ABSENT, None
    return table


class RoomState(Mapping[StateKey, StateEvent]):
    """Immutable map ``(type, state_key) -> event`` with cheap successors."""

    __slots__ = ("_node",)

    def __init__(self, events: Iterable[StateEvent] = ()) -> None:
        table: dict = {}
        for event in events:
            if event.state_key is not None:
                table[(event.type, event.state_key)] = event
        self._node = _Node(table)

    @classmethod
    def _at(cls, node: _Node) -> "RoomState":
        state = cls.__new__(cls)
        state._node = node
        return state

    def apply(self, event: StateEvent) -> "RoomState":
        """The state after ``event``: itself for a message event, else a new
        state with the event's entry replaced."""
        if event.state_key is None:
            return self
        key = (event.type, event.state_key)
        table = _reroot(self._node)
        new = _Node(table)
        old = self._node
        old.table, old.key, old.value, old.towards = None, key, table.get(key, _ABSENT), new
        table[key] = event
        return RoomState._at(new)

    def lookup(self, event_type: str, state_key: str = "") -> StateEvent | None:
        """The event in force for ``(event_type, state_key)``, if any."""
        return _reroot(self._node).get((event_type, state_key))

    def lookup_all(self, keys: Iterable[StateKey]) -> list[StateEvent]:
        """The events in force for those of ``keys`` the state holds, in
        order: an event's auth events, given its ``auth_event_keys``."""
        table = _reroot(self._node)
        return [table[key] for key in keys if key in table]

    def __getitem__(self, key: StateKey) -> StateEvent:
        return _reroot(self._node)[key]

    def __contains__(self, key: object) -> bool:
        return key in _reroot(self._node)

    def __iter__(self) -> Iterator[StateKey]:
        return iter(list(_reroot(self._node)))

    def __len__(self) -> int:
        return len(_reroot(self._node))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RoomState({sorted(self)!r})"
