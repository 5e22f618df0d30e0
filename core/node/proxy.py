"""Outbound connections through a SOCKS5 proxy (Tor), for `PeerConfig.open_connection`.

python-socks does the SOCKS handshake; this wraps it as an asyncio stream opener and turns its
errors into OSError, the only failure `Peer.connect` expects from an opener. Host names (including
.onion) are resolved by the proxy (rdns), so nothing leaks to the local resolver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from python_socks import ProxyError
from python_socks.async_.asyncio import Proxy

from core.node.errors import NodeError

Opener = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class ProxyConfigError(NodeError):
    """The proxy URL cannot be used."""


def socks5_opener(url: str) -> Opener:
    """An opener dialling every destination through the SOCKS5 proxy at `url` ("socks5://host:port")."""
    if not url.startswith(("socks5://", "socks5h://")):
        raise ProxyConfigError(f"not a SOCKS5 proxy URL: {url!r}")
    try:
        Proxy.from_url(url, rdns=True)
    except ValueError as e:
        raise ProxyConfigError(f"bad proxy URL {url!r}: {e}") from None

    async def open_connection(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        proxy = Proxy.from_url(url, rdns=True)
        try:
            sock = await proxy.connect(dest_host=host, dest_port=port)
        except ProxyError as e:  # the proxy refused (e.g. Tor cannot reach the host)
            raise ConnectionRefusedError(f"proxy: {e}") from None
        try:
            return await asyncio.open_connection(sock=sock)
        except BaseException:
            sock.close()
            raise

    return open_connection
