"""uvicorn's httptools HTTP/1.1 protocol with a limit on the size of a request's head.

Neither llhttp nor uvicorn bounds the request line and headers: httptools concatenates an
unfinished header value in memory until it ends (three unfinished 150 MiB headers took a
server from 265 to 762 MiB), and a 30 MB header was answered 200. This protocol counts the
bytes of each request head as they arrive, before httptools sees them, and answers 431 once
they pass the limit, so an unfinished head costs at most the limit plus one socket read.

Imported only by ``saveur serve`` (it imports uvicorn).
"""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: default limit on the request line plus headers of one request, in KiB
DEFAULT_MAX_HEADER_KB = 64

#: The limit in this process. ``saveur serve`` sets it before uvicorn starts, and each worker
#: process sets it again from the options it is given (uvicorn builds protocols per
#: connection from the class, so the limit cannot travel as an argument).
_limit_bytes = DEFAULT_MAX_HEADER_KB * 1024

#: how long a connection answered 431 keeps swallowing what the client still sends, so the
#: client reads the answer instead of a connection reset; nothing read is kept
_LINGER_S = 1.0


def set_max_header_kb(kb: int) -> None:
    """Set the limit on request heads of the protocols this process will create."""
    global _limit_bytes
    if kb < 1:
        raise ValueError(f"max_header_kb must be at least 1, got {kb}")
    _limit_bytes = int(kb) * 1024


class HeaderLimitedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol answering 431 to a request head over the process's limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_head = _limit_bytes
        self._in_head = True  # a connection starts with a request head
        self._head_bytes = 0
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # swallowed until the linger ends: the 431 is already sent
        if not self._in_head:
            super().data_received(data)
            return
        room = self._max_head - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # Only what fits the limit reaches the parser; the head must end within it. The
        # parser, not a search for a blank line, says where it ends (it skips leading blank
        # lines, for one).
        super().data_received(data[:room])
        if self._in_head:
            if not self.transport.is_closing():
                self._refuse()
            return
        super().data_received(data[room:])

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next request on this connection starts its head (a pipelined one already in
        # the current read is counted from the next read on: one read at most escapes).
        self._in_head = True

    def _refuse(self) -> None:
        self._refused = True
        body = orjson.dumps(
            {
                "error_code": "REQUEST_HEADER_FIELDS_TOO_LARGE",
                "message": (
                    f"request line and headers are larger than the limit of "
                    f"{self._max_head // 1024} KiB; send fewer or shorter headers, or start "
                    "the server with a larger --max-header-kb"
                ),
            }
        )
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_S, self.transport.close)
