"""Hypothesis: random and mutated `bitcoin:` URIs into parse_uri raise only WalletError
subclasses; generated valid requests round-trip through build_uri/parse_uri."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.consensus.amount import MAX_MONEY
from core.consensus.network import MAINNET, TESTNET
from core.wallet.bip21 import KNOWN_KEYS, PaymentRequest, build_uri, parse_amount, parse_uri
from core.wallet.errors import WalletError

ADDRESSES = [
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
]
SEEDS = [
    f"bitcoin:{ADDRESSES[0]}?amount=50&label=Luke-Jr&message=Donation%20for%20project%20xyz",
    f"BITCOIN:{ADDRESSES[2].upper()}?amount=0.00000001&lightning=lnbc1&pj=https%3A%2F%2Fx",
    f"bitcoin:{ADDRESSES[1]}?req-x=1&label=Caf%C3%A9&x&&amount=20.3",
    "bitcoin:tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx?amount=1.5",
]
_ALPHABET = "bitcoin:BITCOIN?&=%.-+#reqamountlabelmessage0123456789eE,AFaf/ \u00e9\x00"

_mutations = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace"]),
        st.integers(min_value=0, max_value=200),
        st.text(alphabet=_ALPHABET, min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=6,
)


def _mutate(text: str, ops: list[tuple[str, int, str]]) -> str:
    for op, pos, piece in ops:
        pos = pos % (len(text) + 1)
        if op == "insert":
            text = text[:pos] + piece + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + len(piece):]
        else:
            text = text[:pos] + piece + text[pos + len(piece):]
    return text


def _parse_ok_or_wallet_error(uri: str) -> None:
    for network in (MAINNET, TESTNET):
        try:
            req = parse_uri(uri, network)
        except WalletError:
            continue
        # Whatever parses must build and parse back to the same request.
        assert parse_uri(build_uri(req, network), network) == req


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_random_text(text: str) -> None:
    _parse_ok_or_wallet_error(text)
    _parse_ok_or_wallet_error("bitcoin:" + text)
    _parse_ok_or_wallet_error(f"bitcoin:{ADDRESSES[0]}?" + text)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEEDS), _mutations)
def test_mutated_uris(seed: str, ops: list[tuple[str, int, str]]) -> None:
    _parse_ok_or_wallet_error(_mutate(seed, ops))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.-eE,+ ", max_size=30))
def test_random_amounts(text: str) -> None:
    try:
        sats = parse_amount(text)
    except WalletError:
        return
    assert 0 <= sats <= MAX_MONEY


_keys = st.text(min_size=1, max_size=12).filter(
    lambda k: k not in KNOWN_KEYS and not k.startswith("req-")
)
_requests = st.builds(
    PaymentRequest,
    address=st.sampled_from(ADDRESSES + [a.upper() for a in ADDRESSES[2:]]),
    amount=st.none() | st.integers(min_value=0, max_value=MAX_MONEY),
    label=st.none() | st.text(max_size=30),
    message=st.none() | st.text(max_size=30),
    extras=st.lists(st.tuples(_keys, st.text(max_size=20)), max_size=4,
                    unique_by=lambda kv: kv[0]).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(_requests)
def test_build_then_parse_round_trips(req: PaymentRequest) -> None:
    assert parse_uri(build_uri(req, MAINNET), MAINNET) == req
