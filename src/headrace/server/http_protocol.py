"""uvicorn's httptools protocol, except that an offer to switch protocols (``Upgrade: h2c``) is declined
by answering in HTTP/1.1, as RFC 9110 §7.8 lets a server do.

Java's ``java.net.http.HttpClient`` (11+) offers ``Upgrade: h2c`` on every cleartext request, as do Ktor,
Spring's RestClient and ``curl --http2``. llhttp stops parsing at the end of such a request's headers
(its body is left unread), and uvicorn then drops the request: answered 400, or run with an empty body.
Here the request's head is re-parsed without the offer by a fresh parser, followed by the bytes after
it, so body, keep-alive and pipelining work as for any request. WebSocket upgrades are left to uvicorn.

Served with ``uvicorn.run(app, http=HTTP_PROTOCOL)``.
"""

from __future__ import annotations

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HTTP_PROTOCOL = "headrace.server.http_protocol:DecliningUpgradeProtocol"
"""What ``uvicorn``'s ``http=`` option takes to use this protocol (an import string: workers load it)."""

_OFFER_HEADERS = (b"upgrade", b"http2-settings")


class DecliningUpgradeProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` answering requests that offer a non-WebSocket upgrade as plain HTTP/1.1."""

    _declined = False

    def on_message_begin(self) -> None:
        self._declined = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        upgrade = self._get_upgrade() if self.parser.should_upgrade() else None
        if upgrade is not None and upgrade != b"websocket":
            self._declined = True  # re-parsed without the offer in data_received
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._declined:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._declined:
            super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
        except httptools.HttpParserUpgrade as exc:
            if self._declined:
                self._reparse_without_offer(data[exc.args[0]:] if exc.args else b"")
            elif self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def _reparse_without_offer(self, rest: bytes) -> None:
        self._declined = False
        version = self.parser.get_http_version().encode("ascii")
        head = [self.parser.get_method(), b" ", self.url, b" HTTP/", version, b"\r\n"]
        for name, value in self.headers:
            if name in _OFFER_HEADERS:
                continue
            if name == b"connection":
                tokens = [t.strip() for t in value.split(b",")]
                value = b", ".join(t for t in tokens if t and t.lower() not in _OFFER_HEADERS)
                if not value:
                    continue
            head += [name, b": ", value, b"\r\n"]
        head.append(b"\r\n")
        self.parser = httptools.HttpRequestParser(self)
        try:
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        except AttributeError:  # httptools < 0.6.3
            pass
        self.data_received(b"".join(head) + rest)
