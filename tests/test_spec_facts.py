"""Facts that both the prose and the code state, checked to agree.

The reference implementation is the single source of each fact; the prose
repeats it for readers. Every check here reads the prose through docutils (the
placeholders stay ordinary paragraphs), compares it with the code, and
returns the differences as sentences, so a failure says which row is wrong.
Each comparison also gets a deliberately mutated input, to show it can fail.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from pathlib import Path

import docutils.core
import pytest
from docutils import nodes

from refimpl.auth_rules import RULES
from refimpl.oracle import OPERATIONS
from refimpl.room_versions import INVITE_V3, ROOM_VERSIONS, EventFormat, EventIdFormat, RoomVersion
from refimpl.test_keys import PUBLISHED_KEYS
from refimpl.unpadded_base64 import decode_base64
from specgen.corpus import Corpus
from specgen.placeholders import Catalog

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specification"
PROSE = tuple(sorted(SPEC.rglob("*.rst")))

Rows = list[list[str]]


@cache
def doctree(path: Path) -> nodes.document:
    """The parsed prose file; docutils reports nothing, the build does that."""
    return docutils.core.publish_doctree(
        path.read_text(encoding="utf-8"),
        source_path=str(path),
        settings_overrides={"report_level": 5, "halt_level": 5, "file_insertion_enabled": False,
                            "raw_enabled": False},
    )


def section(document: nodes.document, target: str) -> nodes.section:
    for node in document.findall(nodes.section):
        if target in node["ids"]:
            return node
    raise AssertionError(f"{document['source']}: no section labelled {target!r}")


def table_rows(node: nodes.Node) -> Rows:
    """The body rows of the first table under ``node``, as cell texts."""
    table = next(node.findall(nodes.table))
    body = next(table.findall(nodes.tbody))
    return [[" ".join(entry.astext().split()) for entry in row.findall(nodes.entry)]
            for row in body.findall(nodes.row)]


def literals(path: Path) -> list[str]:
    return [node.astext() for node in doctree(path).findall(nodes.literal)]


def placeholders(path: Path) -> list[str]:
    """Names of the placeholders in a prose file: paragraphs holding only ``{{name}}``."""
    found = []
    for paragraph in doctree(path).findall(nodes.paragraph):
        match = re.fullmatch(r"\{\{(\w+)\}\}", paragraph.astext().strip())
        if match:
            found.append(match[1])
    return found


# -- the published test keys (appendices.rst) -------------------------------

def key_table_mismatches(rows: Rows, keys) -> list[str]:
    problems = []
    table = {row[0].strip("`"): row[1:] for row in rows}
    if set(table) != set(keys):
        problems.append(f"servers differ: prose {sorted(table)}, code {sorted(keys)}")
    for server, key in keys.items():
        if server not in table:
            continue
        key_id, seed, public = table[server]
        if key_id != key.key_id:
            problems.append(f"{server}: key ID {key_id} in prose, {key.key_id} in code")
        if decode_base64(seed) != key.seed:
            problems.append(f"{server}: the seed in prose is not the code's")
        if public != key.verify_key.public_base64:
            problems.append(f"{server}: public key {public} in prose, {key.verify_key.public_base64} in code")
    return problems


def published_key_rows() -> Rows:
    return table_rows(section(doctree(SPEC / "appendices.rst"), "published-test-keys"))


def test_published_key_table_matches_test_keys():
    assert key_table_mismatches(published_key_rows(), PUBLISHED_KEYS) == []


@pytest.mark.parametrize("column", [1, 2, 3])
def test_published_key_table_check_catches_a_changed_cell(column):
    rows = published_key_rows()
    rows[2][column] = "ed25519:9" if column == 1 else "AAAA" + rows[2][column][4:]
    assert key_table_mismatches(rows, PUBLISHED_KEYS)


# -- the room versions (rooms/index.rst, rooms/v*.rst, targets.yaml) ----------

def _event_format(version: RoomVersion) -> str:
    """The PDU format by the name the prose gives it: the version that introduced it."""
    if version.event_format is EventFormat.V1:
        return "version 1"
    return "version 12" if version.room_id_from_create_event else "version 3"


_EVENT_IDS = {
    EventIdFormat.ORIGIN_ASSIGNED: "chosen by the origin",
    EventIdFormat.REFERENCE_HASH_STANDARD: "reference hash, standard Base64",
    EventIdFormat.REFERENCE_HASH_URLSAFE: "reference hash, URL-safe Base64",
}


def room_table_mismatches(rows: Rows, versions) -> list[str]:
    problems = []
    table = {row[0]: row for row in rows}
    if list(table) != list(versions):
        problems.append(f"versions differ: prose {list(table)}, code {list(versions)}")
    for identifier, version in versions.items():
        if identifier not in table:
            continue
        _, status, state_res, event_format, event_ids, _additions = table[identifier]
        expected = {
            "status": ("stable" if version.stable else "unstable", status),
            "state resolution": (version.state_resolution.value, state_res),
            "event format": (_event_format(version), event_format),
        }
        for column, (code, prose) in expected.items():
            if code != prose:
                problems.append(f"v{identifier}: {column} {prose!r} in prose, {code!r} in code")
        if not event_ids.endswith(_EVENT_IDS[version.event_id_format]):
            problems.append(f"v{identifier}: event IDs {event_ids!r} in prose, "
                            f"{version.event_id_format.name} in code")
    return problems


def room_table_rows() -> Rows:
    return table_rows(section(doctree(SPEC / "rooms" / "index.rst"), "room-version-table"))


def test_room_version_table_matches_room_versions():
    assert room_table_mismatches(room_table_rows(), ROOM_VERSIONS) == []


@pytest.mark.parametrize("change", [
    {"stable": False},
    {"state_resolution": ROOM_VERSIONS["1"].state_resolution},
    {"event_format": EventFormat.V1},
    {"event_id_format": EventIdFormat.REFERENCE_HASH_STANDARD},
    {"room_id_from_create_event": True},
])
def test_room_version_table_check_catches_a_changed_flag(change):
    versions = dict(ROOM_VERSIONS, **{"11": dataclasses.replace(ROOM_VERSIONS["11"], **change)})
    assert room_table_mismatches(room_table_rows(), versions)


def test_room_version_table_check_catches_a_missing_version():
    assert room_table_mismatches(room_table_rows()[:-1], ROOM_VERSIONS)


def page_status(path: Path) -> str:
    """The status a room-version page declares in its ``Status: ...`` line."""
    found = re.search(r"^Status: (\w+)\.", path.read_text(encoding="utf-8"), re.MULTILINE)
    return found[1] if found else "missing"


@pytest.mark.parametrize("identifier", list(ROOM_VERSIONS))
def test_each_room_version_has_a_page_with_its_status(identifier):
    expected = "stable" if ROOM_VERSIONS[identifier].stable else "unstable"
    assert page_status(SPEC / "rooms" / f"v{identifier}.rst") == expected


def test_room_version_pages_carry_the_unstable_banner_exactly_when_unstable():
    import yaml

    targets = yaml.safe_load((SPEC / "targets.yaml").read_text(encoding="utf-8"))
    banners = {p["page"]: bool(p.get("unstable")) for p in targets["pages"]}
    assert {page: banners.get(page) for page in (f"rooms/v{i}" for i in ROOM_VERSIONS)} == {
        f"rooms/v{i}": not v.stable for i, v in ROOM_VERSIONS.items()
    }


# -- the oracle's operations (appendices.rst) -------------------------------

def oracle_list_mismatches(rows: Rows, operations) -> list[str]:
    listed = [row[0].strip("`") for row in rows]
    return [] if listed == list(operations) else [f"prose lists {listed}, the oracle offers {list(operations)}"]


def oracle_rows() -> Rows:
    return table_rows(section(doctree(SPEC / "appendices.rst"), "the-oracle"))


def test_oracle_operation_list_matches_the_registry():
    assert oracle_list_mismatches(oracle_rows(), OPERATIONS) == []


def test_oracle_list_check_catches_a_missing_or_extra_operation():
    assert oracle_list_mismatches(oracle_rows()[1:], OPERATIONS)
    assert oracle_list_mismatches(oracle_rows() + [["``frobnicate``", ""]], OPERATIONS)


# -- the endpoints the prose places (api/server-server, api/identity) -------

@cache
def catalog() -> Catalog:
    return Catalog(Corpus(ROOT))


def api_files_not_placed(placed: set[str], names) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} ({{{{{name}}}}})"
        for name, (kind, path) in names.items()
        if kind == "endpoint" and path.parent.name in ("server-server", "identity") and name not in placed
    )


def placed_everywhere() -> set[str]:
    return {name for path in PROSE for name in placeholders(path)}


def test_every_api_file_is_placed_in_the_prose():
    assert api_files_not_placed(placed_everywhere(), catalog().names) == []


def test_placement_check_catches_an_api_file_no_page_places():
    assert api_files_not_placed(placed_everywhere() - {"invites_v2_ss_http_api"}, catalog().names)


def test_every_placeholder_in_the_prose_names_a_source():
    unknown = {f"{path.relative_to(ROOT)}: {{{{{name}}}}}"
               for path in PROSE for name in placeholders(path) if name not in catalog().names}
    assert unknown == set()


# -- rule IDs named in the prose (refimpl.auth_rules.RULES) -----------------

#: Inline literals shaped like rule IDs that are field paths, not rules.
FIELD_PATHS = ("third_party_invite.signed",)


def rule_id_mentions(texts, rules) -> list[str]:
    """Literals that look like a rule ID: a rule namespace, then dotted words."""
    namespaces = {rule.split(".")[0] for rule in rules}
    return [
        text for text in texts
        if re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", text)
        and text.split(".")[0] in namespaces
        and not text.startswith(FIELD_PATHS)
    ]


def test_rule_ids_named_in_the_prose_exist():
    mentioned = {(path.relative_to(ROOT).as_posix(), text)
                 for path in PROSE for text in rule_id_mentions(literals(path), RULES)}
    assert mentioned, "the prose names no rule IDs at all; the check would be empty"
    assert {m for m in mentioned if m[1] not in RULES} == set()


def test_rule_id_check_catches_an_unknown_rule():
    mentioned = rule_id_mentions(["member.join.not_invitd", "m.room.member", "content.membership"], RULES)
    assert mentioned == ["member.join.not_invitd"]
    assert mentioned[0] not in RULES


# -- the unstable invite proposal (refimpl.room_versions.INVITE_V3) ---------

_MENTIONS_INVITE_V3 = re.compile(r"version 3 invite|/v3/invite|\{\{invites_v3_ss_http_api\}\}")


def unstable_invite_problems(documents, feature) -> list[str]:
    """Where the prose mentions the v3 invite without its unstable prefix or warning.

    ``documents`` maps a name to (text, doctree). Every document that
    mentions the proposal must name its unstable prefix, and the section
    that places the endpoint must open with a ``warning`` admonition.
    """
    problems = []
    for name, (text, document) in documents.items():
        if not _MENTIONS_INVITE_V3.search(text):
            continue
        if feature.unstable_prefix not in text:
            problems.append(f"{name}: mentions the v3 invite without {feature.unstable_prefix}")
        for paragraph in document.findall(nodes.paragraph):
            if paragraph.astext().strip() != "{{invites_v3_ss_http_api}}":
                continue
            home = paragraph.parent
            if not any(isinstance(child, nodes.warning) for child in home.children):
                problems.append(f"{name}: the section placing the v3 invite has no warning")
            elif feature.unstable_prefix not in next(home.findall(nodes.warning)).astext():
                problems.append(f"{name}: the v3 invite warning does not name the unstable prefix")
    return problems


def prose_documents():
    return {path.relative_to(SPEC).as_posix(): (path.read_text(encoding="utf-8"), doctree(path)) for path in PROSE}


def test_unstable_invite_is_marked_wherever_it_appears():
    documents = prose_documents()
    assert sum(bool(_MENTIONS_INVITE_V3.search(text)) for text, _ in documents.values()) >= 2
    assert unstable_invite_problems(documents, INVITE_V3) == []


def test_unstable_invite_check_catches_a_wrong_prefix_or_a_missing_warning():
    moved = dataclasses.replace(INVITE_V3, unstable_prefix="/_matrix/federation/unstable/org.example.msc1")
    assert unstable_invite_problems(prose_documents(), moved)
    document = doctree(SPEC / "server-server-api.rst").deepcopy()
    for warning in list(document.findall(nodes.warning)):
        warning.parent.remove(warning)
    text = (SPEC / "server-server-api.rst").read_text(encoding="utf-8")
    assert unstable_invite_problems({"server-server-api.rst": (text, document)}, INVITE_V3) == [
        "server-server-api.rst: the section placing the v3 invite has no warning"
    ]


# -- power-level defaults -------------------------------------------------------------------------

_DEFAULTS_SENTENCE = re.compile(r"takes its default: (.*?)\.", re.S)


def stated_level_defaults(text: str) -> dict[str, int]:
    """The ``field`` N pairs of room version 1's sentence on defaults."""
    found = _DEFAULTS_SENTENCE.search(" ".join(text.split()))
    return {name: int(value) for name, value in re.findall(r"``(\w+)`` (\d+)", found.group(1))} if found else {}


def level_default_differences(stated: dict[str, int]) -> list[str]:
    from refimpl import auth_rules

    code = {"users_default": auth_rules._USERS_DEFAULT, "events_default": auth_rules._EVENTS_DEFAULT,
            "state_default": auth_rules._STATE_DEFAULT, **auth_rules._NAMED_LEVEL_DEFAULTS}
    return [f"{name}: the prose says {stated.get(name)}, refimpl uses {value}"
            for name, value in code.items() if stated.get(name) != value]


def test_room_version_1_states_the_power_level_defaults_refimpl_uses():
    assert level_default_differences(stated_level_defaults((SPEC / "rooms" / "v1.rst").read_text("utf-8"))) == []


def test_power_level_default_check_catches_a_wrong_value():
    text = (SPEC / "rooms" / "v1.rst").read_text("utf-8").replace("``state_default`` 50", "``state_default`` 0")
    assert level_default_differences(stated_level_defaults(text)) == ["state_default: the prose says 0, refimpl uses 50"]
