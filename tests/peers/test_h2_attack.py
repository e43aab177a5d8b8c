"""The HTTP/2 attacker's encoder and decoder against the RFCs' own examples, without a network.
(The attacker against a real server: tests/integration/h2_attack_peer_test.cpp.)"""

import contextlib
import io
import struct
import unittest

import h2_attack as h2


class Hpack(unittest.TestCase):
    def test_integers_match_rfc7541_appendix_c1(self):
        self.assertEqual(h2.hpack_integer(10, 5), bytes.fromhex("0a"))
        self.assertEqual(h2.hpack_integer(1337, 5), bytes.fromhex("1f9a0a"))
        self.assertEqual(h2.hpack_integer(42, 8), bytes.fromhex("2a"))
        self.assertEqual(h2.decode_integer(bytes.fromhex("1f9a0a"), 0, 5), (1337, 3))

    def test_literal_without_indexing_new_name(self):
        # RFC 7541 C.2.2 shape, with a new name instead of an indexed one.
        self.assertEqual(h2.hpack_literal(":path", "/x"), b"\x00\x05:path\x02/x")

    def test_long_string_lengths_take_continuation_octets(self):
        encoded = h2.hpack_string("b" * 1000)
        self.assertEqual(encoded[:3], bytes.fromhex("7f e9 06"))
        self.assertEqual(len(encoded), 1003)

    def test_status_from_rfc7541_appendix_c6(self):
        self.assertEqual(h2.response_status(bytes.fromhex("48826402")), "302")  # Huffman
        self.assertEqual(h2.response_status(bytes.fromhex("4883640eff")), "307")
        self.assertEqual(h2.response_status(bytes.fromhex("4803343331")), "431")  # raw
        self.assertEqual(h2.response_status(bytes.fromhex("88")), "200")  # static entry
        self.assertEqual(h2.response_status(bytes.fromhex("be")), "?")  # dynamic entry


class Frames(unittest.TestCase):
    def test_frame_header_is_length_type_flags_stream(self):
        self.assertEqual(h2.frame(h2.RST_STREAM, 0, 3, b"\0\0\0\x08"),
                         bytes.fromhex("000004 03 00 00000003 00000008"))

    def test_server_frames_are_decoded_across_reads(self):
        seen = h2.Observations()
        stream = (h2.settings_frame([(h2.SETTINGS_MAX_CONCURRENT_STREAMS, 100),
                                     (h2.SETTINGS_MAX_HEADER_LIST_SIZE, 65536)]) +
                  h2.settings_frame(ack=True) +
                  h2.ping_frame(h2.PROBE_PAYLOAD, ack=True) +
                  h2.rst_stream_frame(1, h2.CANCEL) +
                  h2.frame(h2.HEADERS, h2.FLAG_END_HEADERS, 3, bytes.fromhex("88")) +
                  h2.frame(h2.DATA, h2.FLAG_END_STREAM, 3, b"hello") +
                  h2.frame(h2.GOAWAY, 0, 0, struct.pack(">II", 3, 11) + b"calm"))
        for at in range(0, len(stream), 7):  # frames split at arbitrary points
            seen.feed(stream[at:at + 7], 0.0)
        self.assertEqual(seen.server_settings,
                         {"MAX_CONCURRENT_STREAMS": 100, "MAX_HEADER_LIST_SIZE": 65536})
        self.assertEqual(seen.settings_acks, 1)
        self.assertTrue(seen.probe_acked)
        self.assertEqual(seen.rst_errors, {"CANCEL": 1})
        self.assertEqual(seen.statuses, {"200": 1})
        self.assertEqual(seen.data_bytes, 5)
        self.assertEqual(seen.ended_streams, {1, 3})
        self.assertEqual(seen.goaway, {"last_stream_id": 3, "error_code": 11,
                                       "error": "ENHANCE_YOUR_CALM", "debug": "calm"})


class Arguments(unittest.TestCase):
    def rejects(self, *argv):
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as exit:
            h2.parse_arguments(["--port", "1", *argv])
        self.assertEqual(exit.exception.code, 2)

    def test_only_loopback_is_attacked(self):
        self.rejects("--mode", "ping-flood", "--host", "10.0.0.1")
        self.rejects("--mode", "ping-flood", "--host", "example.com")

    def test_bounds_are_enforced(self):
        self.rejects("--mode", "rapid-reset", "--limit", "0")
        self.rejects("--mode", "rapid-reset", "--limit", str(1 << 30))
        self.rejects("--mode", "ping-flood", "--seconds", "0")

    def test_each_mode_has_a_default_limit(self):
        for mode in h2.MODES:
            self.assertGreater(h2.parse_arguments(["--port", "1", "--mode", mode]).limit, 0)


if __name__ == "__main__":
    unittest.main()
