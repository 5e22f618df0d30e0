"""Protocol constants, with the names and values Bitcoin Core uses (version.h, net.h, net_processing.cpp)."""

from __future__ import annotations

#: The protocol version we speak (Core's PROTOCOL_VERSION; 70016 added wtxidrelay, BIP339).
PROTOCOL_VERSION = 70016
#: Peers announcing an older version are disconnected (Core's MIN_PEER_PROTO_VERSION).
MIN_PEER_PROTO_VERSION = 31800
#: Largest payload a peer may send (net.h); also bounds any length read while decoding.
MAX_PROTOCOL_MESSAGE_LENGTH = 4_000_000
#: Most headers in one `headers` message.
MAX_HEADERS_RESULTS = 2000
#: Most entries in one `inv`, `getdata` or `notfound`.
MAX_INV_SZ = 50_000
#: Most addresses in one `addr` or `addrv2`.
MAX_ADDR_TO_SEND = 1000
#: Most hashes in a block locator (`getheaders`, `getblocks`).
MAX_LOCATOR_SZ = 101
#: Most filters one `getcfilters` may ask for (BIP157).
MAX_GETCFILTERS_SIZE = 1000
#: Most filter hashes one `getcfheaders` may ask for, hence in one `cfheaders` (BIP157).
MAX_GETCFHEADERS_SIZE = 2000
#: Longest user agent accepted in `version` (Core's MAX_SUBVERSION_LENGTH).
MAX_SUBVERSION_LENGTH = 256
#: Longest address in an `addrv2` entry, whatever its network (BIP155, Core's MAX_ADDRV2_SIZE).
MAX_ADDRV2_SIZE = 512
#: Most headers in one `cfcheckpt`. BIP157 sets no cap; one checkpoint per 1000 blocks, so this
#: covers chains of 100 million blocks while keeping the message far below the payload limit.
MAX_CFCHECKPT_SIZE = 100_000
