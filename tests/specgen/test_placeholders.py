"""Placeholders are resolved on the document tree, by an explicit registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from jinja2.exceptions import SecurityError

from specgen.corpus import Corpus
from specgen.placeholders import PLACEHOLDERS, Catalog, template_environment, unstable_path
from specgen.rst import Generated, render_file

GOOD = Path(__file__).resolve().parents[1] / "corpora" / "build" / "good"
STYLES = ("=", "-", "~", "+")

PROSE = """\
Title
=====

{{known}}

Literal::

  {{known}}

Inline ``{{known}}`` and a sentence with {{known}} in it.

{{unknown_thing}}
"""


def expand(name):
    if name == "known":
        return [Generated("known-anchor", "Known Section", "event", '<p class="made">made</p>', ("known-anchor-inner",))]
    return None


def test_only_a_standalone_paragraph_is_a_placeholder():
    rendered = render_file(PROSE, "spec/a.rst", expand=expand, title_styles=STYLES, depth=0)
    assert [(p.name, p.line) for p in rendered.placements] == [("known", 4)]
    assert rendered.body.count('class="made"') == 1
    assert "<pre class=\"literal-block\">{{known}}</pre>" in rendered.body
    assert '<span class="docutils literal">{{known}}</span>' in rendered.body
    assert "with {{known}} in it" in rendered.body


def test_unknown_placeholder_is_an_error_at_its_line():
    rendered = render_file(PROSE, "spec/a.rst", expand=expand, title_styles=STYLES, depth=0)
    (error,) = [d for d in rendered.diagnostics if d.code == "build.unknown-placeholder"]
    assert (error.path, error.line, str(error.severity)) == ("spec/a.rst", 12, "error")
    assert "{{unknown_thing}}" in error.message


def test_generated_sections_join_the_tree_as_sections_and_targets():
    text = "Title\n=====\n\nSee `Known Section`_.\n\n{{known}}\n\nAfter\n-----\n\nText.\n"
    rendered = render_file(text, "spec/b.rst", expand=expand, title_styles=STYLES, depth=0)
    assert not [d for d in rendered.diagnostics if d.severity >= 2]
    assert [(e.level, e.title, e.anchor, e.kind) for e in rendered.outline] == [
        (0, "Title", "title", "section"), (1, "Known Section", "known-anchor", "event"), (1, "After", "after", "section")]
    assert '<a class="reference internal" href="#known-anchor">Known Section</a>' in rendered.body
    assert {"known-anchor", "known-anchor-inner"} <= {a for a, _ in rendered.anchors}


def test_prose_line_numbers_stay_true_after_expansion():
    text = "Title\n=====\n\n{{known}}\n\n{{known}}\n\nA `broken`_ link.\n"
    rendered = render_file(text, "spec/c.rst", expand=expand, title_styles=STYLES, depth=0)
    codes = {(d.code, d.line) for d in rendered.diagnostics if d.severity >= 2}
    assert codes == {("build.duplicate-anchor", 6), ("rst.markup", 8)}


def test_depth_shifts_heading_levels():
    text = "Sub\n===\n\nInner\n-----\n\nx\n"
    rendered = render_file(text, "spec/d.rst", expand=expand, title_styles=STYLES, depth=1)
    assert "<h2>Sub" in rendered.body and "<h3>Inner" in rendered.body
    assert [e.level for e in rendered.outline] == [1, 2]


def test_registry_names_follow_the_corpus_layout():
    catalog = Catalog(Corpus(GOOD))
    kinds = {name: kind for name, (kind, _) in catalog.names.items()}
    assert kinds == {
        "m_room_member_event": "event",
        "m_room_message_event": "event",
        "invites_v2_ss_http_api": "endpoint",
        "keys_ss_http_api": "endpoint",
        "knock_proposal_ss_http_api": "endpoint",
        "definition_ss_invite_event": "definition",
        "definition_ss_membership_content": "definition",
        "common_event_fields": "common",
        "common_room_event_fields": "common",
        "common_state_event_fields": "common",
        "room_events": "event_group",
    }
    assert set(PLACEHOLDERS) == {"event", "endpoint", "definition", "common", "flow", "event_group", "apis",
                                 "release_warning", "changelog", "sas_emoji", "differences"}


@pytest.mark.parametrize("name", ["m_room_member_event", "invites_v2_ss_http_api", "definition_ss_invite_event",
                                  "common_state_event_fields"])
def test_every_kind_renders_through_its_template(name):
    catalog = Catalog(Corpus(GOOD))
    blocks = catalog.expand(name)
    assert blocks and all(b.html.strip() for b in blocks)
    assert catalog.expand(name) is blocks  # built once per catalog
    assert not [d for d in catalog.diagnostics() if d.severity >= 3]


def unplaced(placed):
    return {d.path for d in Catalog(Corpus(GOOD)).unplaced(placed)
            if (d.code, str(d.severity)) == ("build.unplaced", "warning")}


def test_sources_nothing_placed_shows_are_warnings():
    # invite_event is referred to only by invites-v2, and membership_content
    # only by invite_event: with neither placed, both are unplaced.
    assert unplaced({"m_room_member_event", "keys_ss_http_api", "knock_proposal_ss_http_api"}) == {
        "event-schemas/schema/m.room.message.yaml",
        "api/server-server/invites-v2.yaml",
        "api/server-server/definitions/invite_event.yaml",
        "api/server-server/definitions/membership_content.yaml",
    }


def test_a_definition_shown_inside_a_placed_api_file_is_not_unplaced():
    # invites-v2 -> invite_event -> membership_content: reached transitively.
    assert unplaced({"invites_v2_ss_http_api"}) == {
        "event-schemas/schema/m.room.member.yaml",
        "event-schemas/schema/m.room.message.yaml",
        "api/server-server/keys.yaml",
        "api/server-server/knock_proposal.yaml",
    }


def test_a_definition_shown_inside_a_placed_definition_is_not_unplaced():
    found = unplaced({"definition_ss_invite_event"})
    assert "api/server-server/definitions/membership_content.yaml" not in found
    # API files keep the simple rule: being referred to does not place them.
    assert "api/server-server/invites-v2.yaml" in found


@pytest.mark.parametrize(("stable", "prefix", "expected"), [
    ("/_matrix/federation/v3/invite/{roomId}", "/_matrix/federation/unstable/org.example.msc1",
     "/_matrix/federation/unstable/org.example.msc1/invite/{roomId}"),
    ("/_matrix/federation/v3/invite/{roomId}", "/_matrix/federation/unstable/org.example.msc1/",
     "/_matrix/federation/unstable/org.example.msc1/invite/{roomId}"),
    ("/_matrix/client/r0/sync", "/_matrix/client/unstable/org.example.msc2", "/_matrix/client/unstable/org.example.msc2/sync"),
    ("/_matrix/key/v2/server", "/_matrix/federation/unstable/org.example.msc1", ""),
    ("/_matrix/federation/invite", "/_matrix/federation/unstable/org.example.msc1", ""),
    ("/_matrix/federation/v3", "/_matrix/federation/unstable/org.example.msc1", ""),
    ("/_matrix/federation/v3/invite", "/_matrix/federation/org.example.msc1", ""),
    ("/_matrix/federation/v3/invite", "", ""),
])
def test_unstable_path_replaces_the_version_segment(stable, prefix, expected):
    assert unstable_path(stable, prefix) == expected


def test_only_endpoints_of_unstable_api_files_are_marked():
    catalog = Catalog(Corpus(GOOD))
    (knock,) = catalog.expand("knock_proposal_ss_http_api")
    (invite,) = catalog.expand("invites_v2_ss_http_api")
    assert 'class="admonition warning unstable"' in knock.html
    assert "<code>PUT /_matrix/federation/unstable/org.example.msc1/knock/{roomId}</code>" in knock.html
    assert "unstable" not in invite.html
    assert catalog.unstable_anchors(["knock_proposal_ss_http_api", "invites_v2_ss_http_api", "nope"]) == {knock.anchor}

_PIECES = st.sampled_from([
    "Title\n=====\n", "Sub\n---\n", "Deep\n~~~~\n", "Skip\n++++\n", "{{known}}\n", "{{nope}}\n", "`broken`_\n",
    "`Known Section`_\n", "::\n\n  {{known}}\n", "* item\n", ".. code:: json\n\n   {\"a\": 1}\n", "``x``\n",
    "=====\nOver\n=====\n", ".. _t:\n", "text {{known}} text\n", "\n", "  indented\n",
])


@settings(max_examples=80, deadline=None)
@given(st.lists(_PIECES, max_size=12), st.integers(min_value=0, max_value=3))
def test_any_prose_renders_or_reports_never_raises(pieces, depth):
    """Any prose given to render_file yields a rendered file whose problems
    are located diagnostics, never a traceback."""
    rendered = render_file("\n".join(pieces), "spec/p.rst", expand=expand, title_styles=STYLES, depth=depth)
    assert all(d.path == "spec/p.rst" and d.line >= 0 for d in rendered.diagnostics)
    assert len({a for a, _ in rendered.anchors}) == len(rendered.anchors)


def test_the_sandbox_remembers_each_verdict_by_type_and_name():
    """The sandbox's verdicts are remembered; the same name on another
    type is judged afresh (``mro`` of a class is refused, of a string not),
    and a template still cannot reach a class's internals."""
    env = template_environment(Corpus(GOOD))
    assert env.is_safe_attribute("text", "mro", None)
    assert not env.is_safe_attribute(str, "mro", str.mro)
    assert env.is_safe_attribute("text", "mro", None)
    assert not env.is_safe_attribute(str, "mro", str.mro)
    with pytest.raises(SecurityError):
        env.from_string("{{ x.upper }}{{ x.__class__.mro() }}").render(x="text")
