"""Arrival traces recorded by levee's flush telemetry, replayed in the simulator.

Each flush event of levee's telemetry (the JSONL sink's lines, or the Kafka sink's messages
consumed back into lines by levee-kafka-capture) describes one flushed group. Since
observation version 2 an event also carries

- `opened_unix_ns`: when the group opened (its first member arrived), system clock, ns;
- `arrivals_ns`: each member's arrival as an offset from `opened_unix_ns`, ns, ascending and
  starting at 0; at most 1024 of them, a larger group listing its first 1024 with
  `"arrivals_truncated": true`.

Every request of a route joins exactly one group, so the route's arrival trace is the union
of `opened_unix_ns + arrivals_ns` over its events (several collapse keys on one route give the
superposition of their traces; events levee dropped under overload leave gaps, counted in
its `levee_telemetry_events_total{result="dropped"}`).

    events = read_events("flushes.jsonl")
    traces = arrival_traces(events)          # {route: sorted arrival times, s}
    pieces = split_trace(traces["api"], 1.5)  # episodes for the simulator

Older events (observation version 1: no `arrivals_ns`) are accepted and contribute nothing;
arrival_traces() counts them, and truncated groups, and warns once about either.
"""

import json
import warnings

import numpy as np


def read_events(path):
    """The flush events of a JSONL file, as dicts, in file order.

    Blank lines are skipped. A line that is not a JSON object raises ValueError naming the
    file and the line number (1-based).
    """
    events = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON: {error.msg}") from None
            if not isinstance(event, dict):
                raise ValueError(f"{path}:{number}: not a JSON object")
            events.append(event)
    return events


class ArrivalTraces(dict):
    """{route: numpy float64 array of arrival times, seconds from the route's first arrival,
    ascending}, with what could not be replayed:

    - `without_arrivals`: events that carry no `arrivals_ns` (older levee), left out;
    - `truncated_groups`: groups whose `arrivals_ns` was cut at levee's limit;
    - `truncated_arrivals`: the members those groups did not list (their `size` minus the
      listed count), missing from the traces.
    """

    def __init__(self, traces, without_arrivals, truncated_groups, truncated_arrivals):
        super().__init__(traces)
        self.without_arrivals = without_arrivals
        self.truncated_groups = truncated_groups
        self.truncated_arrivals = truncated_arrivals


def _integer(value, what, route):
    # bool is an int in Python; neither it nor a float is a timestamp.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"route {route!r}: {what} is not an integer: {value!r}")
    return value


def arrival_traces(events):
    """Each route's arrival trace (see ArrivalTraces) from flush events in any order.

    Arithmetic is in integer nanoseconds until the times are re-based to the route's first
    arrival (Unix nanoseconds do not fit a float64 exactly). An event whose `opened_unix_ns`
    or `arrivals_ns` is of the wrong type raises ValueError naming its route.
    """
    absolute = {}
    without_arrivals = 0
    truncated_groups = 0
    truncated_arrivals = 0
    for event in events:
        route = event.get("route", "")
        offsets = event.get("arrivals_ns")
        if offsets is None:
            without_arrivals += 1
            continue
        if not isinstance(offsets, list):
            raise ValueError(f"route {route!r}: arrivals_ns is not a list: {offsets!r}")
        opened = _integer(event.get("opened_unix_ns"), "opened_unix_ns", route)
        for offset in offsets:
            _integer(offset, "an arrivals_ns entry", route)
        if event.get("arrivals_truncated"):
            truncated_groups += 1
            size = event.get("size")
            if isinstance(size, int) and size > len(offsets):
                truncated_arrivals += size - len(offsets)
        absolute.setdefault(route, []).append(opened + np.asarray(offsets, dtype=np.int64))
    traces = {}
    for route, pieces in absolute.items():
        times = np.sort(np.concatenate(pieces))
        if times.size == 0:
            continue
        traces[route] = (times - times[0]).astype(np.float64) * 1e-9
    if without_arrivals or truncated_groups:
        warnings.warn(
            f"arrival traces: {without_arrivals} event(s) without arrivals_ns left out, "
            f"{truncated_groups} truncated group(s) missing {truncated_arrivals} arrival(s)",
            stacklevel=2)
    return ArrivalTraces(traces, without_arrivals, truncated_groups, truncated_arrivals)


def split_trace(times, piece_s):
    """Cuts an ascending trace (seconds) into consecutive windows of `piece_s` seconds.

    Window k holds the arrivals in [k * piece_s, (k + 1) * piece_s), re-based to its start, so
    each piece runs from 0 to at most piece_s (idle time before a window's first arrival is
    kept). Windows without arrivals are left out; the last window may be partly empty.
    Returns a list of numpy float64 arrays.
    """
    if not piece_s > 0:
        raise ValueError("piece_s must be positive")
    times = np.asarray(times, dtype=np.float64)
    if times.size == 0:
        return []
    if np.any(np.diff(times) < 0):
        raise ValueError("times must be ascending")
    windows = np.floor(times / piece_s).astype(np.int64)
    starts = np.flatnonzero(np.diff(windows, prepend=windows[0] - 1))
    # floor(t / p) * p can exceed t by an ulp: clamp, so that no piece starts before 0.
    return [np.maximum(piece - windows[start] * piece_s, 0.0)
            for start, piece in zip(starts, np.split(times, starts[1:]))]
