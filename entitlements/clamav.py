"""A small ClamAV client: clamd's INSTREAM command over its Unix socket.

The protocol (clamd(8)): send `zINSTREAM\\0`, then the file as chunks, each a 4-byte
big-endian length and that many bytes, then a zero length; clamd answers one line ending in
`\\0`: `stream: OK`, `stream: <signature> FOUND`, or `... ERROR`. The PyPI `clamd` package
does this too but is unmaintained, so these few lines are ours.
"""

import socket
import struct
from dataclasses import dataclass

CHUNK_BYTES = 64 * 1024


class ScanUnavailable(Exception):
    """clamd could not be reached, or did not give an answer we understand."""


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str = ""


def scan_stream(chunks, *, socket_path: str, timeout: float = 30.0) -> ScanResult:
    """Scan the bytes yielded by `chunks` with the clamd listening on `socket_path`."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(socket_path)
            connection.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK_BYTES):
                    part = chunk[start : start + CHUNK_BYTES]
                    connection.sendall(struct.pack("!L", len(part)) + part)
            connection.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                data = connection.recv(4096)
                if not data:
                    break
                reply += data
    except OSError as error:
        raise ScanUnavailable(f"clamd at {socket_path}: {error}") from error
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if answer.endswith(" OK"):
        return ScanResult(clean=True)
    if answer.endswith(" FOUND"):
        signature = answer.removeprefix("stream:").removesuffix("FOUND").strip()
        return ScanResult(clean=False, signature=signature)
    raise ScanUnavailable(f"clamd at {socket_path} answered {answer!r}")


def scan_upload(upload, *, socket_path: str, timeout: float = 30.0) -> ScanResult:
    """Scan an uploaded file (from its start); leaves it at its start."""
    upload.seek(0)
    try:
        return scan_stream(upload.chunks(), socket_path=socket_path, timeout=timeout)
    finally:
        upload.seek(0)
