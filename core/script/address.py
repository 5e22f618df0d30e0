"""Addresses ⇄ output scripts (Core's key_io.cpp: DecodeDestination, EncodeDestination).

Base58Check P2PKH/P2SH and bech32/bech32m segwit addresses (v0 P2WPKH/P2WSH, v1 taproot, and
future versions 1..16 with 2..40-byte programs). Error messages follow Core's DecodeDestination;
in addition, an address that is valid on another network says so ("wrong network: ...").
Unlike Core, surrounding whitespace is not skipped: callers strip user input.
"""

from __future__ import annotations

from core.consensus.hashes import sha256d
from core.consensus.network import ALL_NETWORKS, MAINNET, Network
from core.crypto.base58 import b58check_encode, b58decode
from core.crypto.bech32 import decode_segwit_address, encode_segwit_address
from core.crypto.errors import AddressError, Base58Error, Bech32Error
from core.script.standard import TxoutType, solve

_OP_0 = 0x00
_OP_1 = 0x51
_HASH_SIZE = 20
#: Base58 payload limit Core passes to DecodeBase58Check for addresses (prefix + 20-byte hash).
_B58_MAX_PAYLOAD = 21
#: Core decodes up to this many bytes only to tell "bad checksum/length" from "not base58".
_B58_MAX_RAW = 100


def p2pkh_script(hash160_: bytes) -> bytes:
    """OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG."""
    return b"\x76\xa9\x14" + hash160_ + b"\x88\xac"


def p2sh_script(hash160_: bytes) -> bytes:
    """OP_HASH160 <20> OP_EQUAL."""
    return b"\xa9\x14" + hash160_ + b"\x87"


def witness_script(version: int, program: bytes) -> bytes:
    """OP_n <program>: the output script of a witness program."""
    return bytes((_OP_0 if version == 0 else _OP_1 + version - 1, len(program))) + program


def _decode_base58(addr: str, network: Network) -> bytes:
    try:
        raw = b58decode(addr, _B58_MAX_RAW)
    except Base58Error:
        raise AddressError("Invalid or unsupported Segwit (Bech32) or Base58 encoding.") from None
    if len(raw) < 4 or len(raw) > _B58_MAX_PAYLOAD + 4:
        raise AddressError("Invalid length for Base58 address (P2PKH or P2SH)")
    data, checksum = raw[:-4], raw[-4:]
    if sha256d(data)[:4] != checksum:
        raise AddressError("Invalid checksum for Base58 address (P2PKH or P2SH)")
    pubkey_prefix = network.pubkey_address_prefix
    script_prefix = network.script_address_prefix
    if len(data) == _HASH_SIZE + len(pubkey_prefix) and data.startswith(pubkey_prefix):
        return p2pkh_script(data[len(pubkey_prefix) :])
    if len(data) == _HASH_SIZE + len(script_prefix) and data.startswith(script_prefix):
        return p2sh_script(data[len(script_prefix) :])
    if data.startswith(pubkey_prefix) or data.startswith(script_prefix):
        raise AddressError("Invalid length for Base58 address (P2PKH or P2SH)")
    raise AddressError("Invalid or unsupported Base58-encoded address.")


def _decode_for(addr: str, network: Network) -> bytes:
    """DecodeDestination for one network, without the wrong-network hint."""
    if not isinstance(addr, str):
        raise AddressError("address must be text")
    hrp = network.bech32_hrp
    # As Core: a string starting with this network's HRP is only ever tried as bech32.
    if addr[: len(hrp)].lower() != hrp:
        return _decode_base58(addr, network)
    try:
        _, version, program = decode_segwit_address(hrp, addr)
    except Bech32Error as e:
        raise AddressError(str(e)) from None
    return witness_script(version, program)


def _describe(networks: list[Network]) -> str:
    if MAINNET in networks:
        return "a mainnet"
    if all(n.bech32_hrp == "bcrt" for n in networks):
        return "a regtest"
    return "a testnet"


def _other_networks(addr: str, network: Network) -> list[Network]:
    found = []
    for other in ALL_NETWORKS:
        if other == network:
            continue
        try:
            _decode_for(addr, other)
        except AddressError:
            continue
        found.append(other)
    return found


def address_to_script(addr: str, network: Network) -> bytes:
    """The output script an address pays to, for `network` (Core's DecodeDestination +
    GetScriptForDestination). Raises AddressError saying what is wrong, including
    "wrong network: this is a testnet address" when it is valid elsewhere."""
    try:
        return _decode_for(addr, network)
    except AddressError as err:
        others = _other_networks(addr, network) if isinstance(addr, str) else []
        if others:
            raise AddressError(
                f"wrong network: this is {_describe(others)} address (expected {network.name})"
            ) from None
        raise err from None


def decode_address(addr: str) -> tuple[Network, bytes]:
    """Decode an address for whichever network accepts it, trying ALL_NETWORKS in order.

    Testnet, testnet4, signet (and regtest for base58) share prefixes, so the first match in
    ALL_NETWORKS order is returned. On failure, raises the error of the network whose bech32 HRP
    the address starts with (the longest such), else mainnet's."""
    for network in ALL_NETWORKS:
        try:
            return network, _decode_for(addr, network)
        except AddressError:
            continue
    lowered = addr.lower() if isinstance(addr, str) else ""
    matching = [n for n in ALL_NETWORKS if lowered.startswith(n.bech32_hrp)]
    blame = max(matching, key=lambda n: len(n.bech32_hrp), default=MAINNET)
    return blame, _decode_for(addr, blame)  # raises: no network accepted the address


def script_to_address(spk: bytes, network: Network) -> str | None:
    """The address of an output script on `network`, or None if it has none (Core's
    ExtractDestination + EncodeDestination: P2PK, multisig, OP_RETURN etc. have no address)."""
    sol = solve(bytes(spk))
    t = sol.type
    if t is TxoutType.PUBKEYHASH:
        return b58check_encode(network.pubkey_address_prefix + sol.solutions[0])
    if t is TxoutType.SCRIPTHASH:
        return b58check_encode(network.script_address_prefix + sol.solutions[0])
    if t in (TxoutType.WITNESS_V0_KEYHASH, TxoutType.WITNESS_V0_SCRIPTHASH):
        return encode_segwit_address(network.bech32_hrp, 0, sol.solutions[0])
    if t is TxoutType.WITNESS_V1_TAPROOT:
        return encode_segwit_address(network.bech32_hrp, 1, sol.solutions[0])
    if t is TxoutType.ANCHOR:
        return encode_segwit_address(network.bech32_hrp, 1, b"\x4e\x73")
    if t is TxoutType.WITNESS_UNKNOWN:
        version, program = sol.solutions[0][0], sol.solutions[1]
        try:
            return encode_segwit_address(network.bech32_hrp, version, program)
        except Bech32Error:  # e.g. a 41-byte program: valid script, no address
            return None
    return None
