"""template/scripts/lib/sse.py as a library: the one reader of server-sent events."""

from __future__ import annotations

import importlib
import io
import sys
import time

import pytest
from environment import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "template" / "scripts" / "lib"))
sse = importlib.import_module("sse")


def reader(raw: bytes, **kwargs):
    return sse.EventReader(io.BytesIO(raw).readline, time.monotonic(), **kwargs)


def test_events_are_named_and_their_data_lines_joined():
    raw = (b": ping\n\nevent: message_start\ndata: {\"a\":\ndata: 1}\n\n"
           b"data: {\"type\": \"ping\"}\r\n\r\nevent: message_stop\ndata: {}")
    events = list(reader(raw))
    assert [(e.name, e.data) for e in events] == [("message_start", '{"a":\n1}'), ("", '{"type": "ping"}'),
                                                  ("message_stop", "{}")]  # the end completes the last event
    assert all(e.at >= 0 for e in events)


def test_comments_and_unknown_fields_are_no_events():
    assert list(reader(b": keep-alive\n\nid: 7\nretry: 10\n\n")) == []


def test_the_first_line_is_timed_even_when_it_is_a_comment():
    got = reader(b": ping\n\n")
    assert list(got) == [] and got.first_line_at > 0 and not got.timed_out


def test_a_stream_past_its_deadline_stops_and_says_so():
    lines = iter([b"event: a\n", b"data: {}\n", b"\n"] + [b": ping\n"] * 1000)

    def slow(limit):
        time.sleep(0.01)
        return next(lines)

    got = sse.EventReader(slow, time.monotonic(), deadline=time.monotonic() + 0.2)
    events = list(got)
    assert got.timed_out and [e.name for e in events] == ["a"]


@pytest.mark.parametrize("limit", [8, 64])
def test_each_line_is_read_within_its_bound(limit):
    seen = []

    def readline(asked):
        seen.append(asked)
        return b""

    list(sse.EventReader(readline, time.monotonic(), max_line=limit))
    assert seen == [limit]
