"""uvicorn's httptools protocol with a cap on the request head.

httptools (llhttp) is the cheaper of uvicorn's two HTTP parsers (bench/http_parser.py), but
it takes a request line and headers of any size. This adds the cap, counted two ways:

- while a head is incomplete, by the bytes received, so a header that never ends is cut off
  at the cap (httptools holds a partial header itself and calls back only once it ends);
- once it is complete, by the request line and headers the parser found, so a head over
  the cap is refused even when it arrived in one read.

A refused request is answered 431 and its connection closed; it never reaches the app.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024

_REFUSAL = b"Request head too large."


class HeadCappedHttpTools(HttpToolsProtocol):
    # A connection's first bytes are a request head.
    _head_open = True
    _received = 0  # bytes received since the head began (some may be body)
    _head_size = 0  # the head's bytes as the parser found them
    _refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._head_open:
            self._received += len(data)
        super().data_received(data)
        if self._head_open and self._received > MAX_HEAD_BYTES:
            self._refuse()

    def on_message_begin(self) -> None:
        self._head_size = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open, self._received = False, 0
        if self._head_size > MAX_HEAD_BYTES:
            self._refuse()
            return
        super().on_headers_complete()

    def _should_upgrade(self) -> bool:
        return not self._refused and super()._should_upgrade()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        # On a kept-alive connection the next bytes start another head.
        self._head_open = True

    def _refuse(self) -> None:
        self._refused = True
        if self.transport.is_closing():  # the parser refused it already
            return
        self.logger.warning("Request head over %d bytes refused.", MAX_HEAD_BYTES)
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(_REFUSAL),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + _REFUSAL)
        self.transport.close()
