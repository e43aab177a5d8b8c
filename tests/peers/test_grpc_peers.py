"""The gRPC peers' own logic that needs no network: argument checks, percentiles, status codes.
(The peers against each other: tests/integration/grpc_peer_test.cpp.)"""

import contextlib
import io
import unittest

import grpc

import grpc_client
import grpc_peer


def parse(*argv):
    return grpc_client.parse_args(["--target", "127.0.0.1:1", "--method", "/s/M", *argv])


class ClientArguments(unittest.TestCase):
    def rejects(self, *argv):
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as e:
            parse(*argv)
        self.assertEqual(e.exception.code, 2)
        return err.getvalue()

    def test_defaults_send_everything_at_once(self):
        args = parse("--calls", "7")
        self.assertEqual(args.concurrency, 7)
        self.assertEqual(args.request_bytes, b"req")

    def test_bounds_are_enforced(self):
        self.assertIn("--calls", self.rejects("--calls", "0"))
        self.assertIn("--channels", self.rejects("--channels", "65"))
        self.assertIn("--timeout-ms", self.rejects("--timeout-ms", "0"))

    def test_metadata_must_be_sendable(self):
        self.assertIn("KEY=VALUE", self.rejects("--metadata", "novalue"))
        self.assertIn("-bin", self.rejects("--metadata", "x-msg=ü"))
        self.assertEqual(parse("--metadata", "X-Msg-Bin=ü").metadata, [("x-msg-bin", "ü".encode())])

    def test_tls_options_go_together(self):
        self.assertIn("--tls-ca", self.rejects("--server-name", "peer.test"))
        self.assertIn("--tls-key", self.rejects("--tls-ca", "ca", "--tls-cert", "c"))


class Percentiles(unittest.TestCase):
    def test_nearest_rank(self):
        values = list(range(1, 101))
        self.assertEqual(grpc_client.percentile(values, 0.50), 50)
        self.assertEqual(grpc_client.percentile(values, 0.99), 99)
        self.assertEqual(grpc_client.percentile([1, 2], 0.50), 1)
        self.assertEqual(grpc_client.percentile([5], 0.99), 5)
        self.assertIsNone(grpc_client.percentile([], 0.5))


class StatusCodes(unittest.TestCase):
    def test_names_and_numbers(self):
        self.assertEqual(grpc_peer.status_code("NOT_FOUND"), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(grpc_peer.status_code("not_found"), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(grpc_peer.status_code("14"), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(grpc_peer.status_code("nonsense"), grpc.StatusCode.UNKNOWN)


if __name__ == "__main__":
    unittest.main()
