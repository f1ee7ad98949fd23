"""sse.py: reading server-sent events (text/event-stream), the one reader (Python 3.9+ standard library only).

`EventReader(readline, started, deadline)` iterates over the events of a stream, as the Anthropic SDKs (and so
Claude Code) read them: `event:` names the event, `data:` lines are joined with newlines, a line starting with
`:` is a comment (a keep-alive ping), and a blank line (or the end of the stream) completes an event. `readline`
is any `readline(limit)` that returns bytes (http_client's Response bounds every read by its own deadline); each
line is read up to `max_line` bytes.

It also measures what a buffering check needs: `first_line_at`, when the first byte of the stream arrived, and
each event's `at`, when it was complete (both seconds after `started`, on time.monotonic). Past `deadline` it
stops and sets `timed_out`: a stream of pings, or a server dripping a byte a second, ends there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

MAX_LINE = 1 << 20  # bytes of one line: a bounded read


class Event(NamedTuple):
    name: str   # the `event:` field, "" when the stream names none (the data's "type" usually does)
    data: str   # the `data:` lines, joined with newlines
    at: float   # seconds after `started` when the event was complete


class EventReader:
    def __init__(self, readline: Callable[[int], bytes], started: float, deadline: float = float("inf"),
                 max_line: int = MAX_LINE):
        self.readline, self.started, self.deadline, self.max_line = readline, started, deadline, max_line
        self.first_line_at = 0.0  # 0.0: nothing arrived (yet)
        self.timed_out = False

    def __iter__(self) -> Iterator[Event]:
        name, data = "", []
        while True:
            if time.monotonic() > self.deadline:
                self.timed_out = True
                return
            line = self.readline(self.max_line)
            now = time.monotonic() - self.started
            if line and not self.first_line_at:
                self.first_line_at = now
            if line.strip() and not line.startswith(b":"):
                field, _, value = line.decode("utf-8", "replace").rstrip("\r\n").partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
                continue
            if name or data:  # a blank line (or the end) completes an event
                yield Event(name, "\n".join(data), now)
                name, data = "", []
            if not line:
                return
