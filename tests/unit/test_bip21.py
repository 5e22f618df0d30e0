"""BIP21 `bitcoin:` URIs: the examples of the BIP text, round trips and every error case."""

from __future__ import annotations

import pytest

from core.consensus.amount import COIN
from core.consensus.network import MAINNET, REGTEST, TESTNET
from core.wallet.bip21 import PaymentRequest, build_uri, format_amount, parse_amount, parse_uri
from core.wallet.errors import Bip21Error, WalletError

# The address in BIP21's examples has a bad Base58Check checksum (a known quirk of the BIP text),
# so the examples are checked twice: verbatim (rejected, naming the checksum) and with a valid
# mainnet address substituted.
BIP_ADDRESS = "175tWpb8K1S7NmH4Zx6rewF9WQrcZv245W"
ADDR = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
SEGWIT = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
TB_ADDR = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"

# (id, URI from the BIP's "Examples" section, expected request for a valid address or None if
# the BIP says the URI is invalid).
BIP21_EXAMPLES = [
    ("just-address", "bitcoin:{a}", PaymentRequest(ADDR)),
    ("with-name", "bitcoin:{a}?label=Luke-Jr", PaymentRequest(ADDR, label="Luke-Jr")),
    (
        "20.30-btc",
        "bitcoin:{a}?amount=20.3&label=Luke-Jr",
        PaymentRequest(ADDR, amount=2_030_000_000, label="Luke-Jr"),
    ),
    (
        "50-btc-message",
        "bitcoin:{a}?amount=50&label=Luke-Jr&message=Donation%20for%20project%20xyz",
        PaymentRequest(
            ADDR, amount=5_000_000_000, label="Luke-Jr", message="Donation for project xyz"
        ),
    ),
    (
        "unknown-required",
        "bitcoin:{a}?req-somethingyoudontunderstand=50&req-somethingelseyoudontget=999",
        None,
    ),
    (
        "unknown-optional",
        "bitcoin:{a}?somethingyoudontunderstand=50&somethingelseyoudontget=999",
        PaymentRequest(
            ADDR,
            extras=(("somethingyoudontunderstand", "50"), ("somethingelseyoudontget", "999")),
        ),
    ),
]


@pytest.mark.parametrize(("uri", "expected"), [(u, e) for _, u, e in BIP21_EXAMPLES],
                         ids=[i for i, _, _ in BIP21_EXAMPLES])
def test_bip21_example_with_valid_address(uri: str, expected: PaymentRequest | None) -> None:
    uri = uri.format(a=ADDR)
    if expected is None:
        with pytest.raises(Bip21Error, match="req-somethingyoudontunderstand"):
            parse_uri(uri, MAINNET)
        return
    assert parse_uri(uri, MAINNET) == expected
    assert parse_uri(build_uri(expected, MAINNET), MAINNET) == expected


@pytest.mark.parametrize("uri", [u for _, u, _ in BIP21_EXAMPLES],
                         ids=[i for i, _, _ in BIP21_EXAMPLES])
def test_bip21_example_verbatim_rejects_bad_checksum(uri: str) -> None:
    with pytest.raises(Bip21Error, match="Invalid checksum"):
        parse_uri(uri.format(a=BIP_ADDRESS), MAINNET)


def test_build_matches_bip_text() -> None:
    req = PaymentRequest(ADDR, amount=5_000_000_000, label="Luke-Jr",
                         message="Donation for project xyz")
    assert build_uri(req, MAINNET) == (
        f"bitcoin:{ADDR}?amount=50&label=Luke-Jr&message=Donation%20for%20project%20xyz"
    )
    assert build_uri(PaymentRequest(ADDR), MAINNET) == f"bitcoin:{ADDR}"


@pytest.mark.parametrize("scheme", ["bitcoin", "BITCOIN", "Bitcoin", "bItCoIn"])
def test_scheme_case_insensitive(scheme: str) -> None:
    assert parse_uri(f"{scheme}:{ADDR}?amount=1", MAINNET) == PaymentRequest(ADDR, amount=COIN)



def test_uppercase_bech32_for_qr_codes() -> None:
    req = parse_uri(f"BITCOIN:{SEGWIT.upper()}?amount=0.001", MAINNET)
    assert req == PaymentRequest(SEGWIT.upper(), amount=100_000)


def test_keys_are_case_sensitive() -> None:
    req = parse_uri(f"bitcoin:{ADDR}?Amount=1&LABEL=x", MAINNET)
    assert req.amount is None and req.label is None
    assert req.extras == (("Amount", "1"), ("LABEL", "x"))


@pytest.mark.parametrize(
    ("text", "sats"),
    [
        ("0", 0),
        ("50", 5_000_000_000),
        ("50.00", 5_000_000_000),
        ("20.3", 2_030_000_000),
        ("0.00000001", 1),
        ("1.23456789", 123_456_789),
        (".5", 50_000_000),
        ("5.", 500_000_000),
        ("0000001", COIN),
        ("21000000", 2_100_000_000_000_000),
        ("20999999.99999999", 2_099_999_999_999_999),
        ("0.1", 10_000_000),  # 0.1 is not exact in binary floating point
    ],
)
def test_parse_amount_exact(text: str, sats: int) -> None:
    assert parse_amount(text) == sats
    assert parse_uri(f"bitcoin:{ADDR}?amount={text}", MAINNET).amount == sats


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        (".", "no digits"),
        ("-1", "negative"),
        ("-0.5", "negative"),
        ("1e-3", "exponent"),
        ("1E8", "exponent"),
        ("50,000.00", "commas"),
        ("0.000000001", "more than 8 decimal"),
        ("1.000000000", "more than 8 decimal"),
        ("21000000.00000001", "21 million"),
        ("100000000", "21 million"),
        ("9" * 5000, "21 million"),
        ("+1", "not a decimal"),
        ("1.2.3", "not a decimal"),
        (" 1", "not a decimal"),
        ("0x10", "not a decimal"),
        ("\u0661", "not a decimal"),  # Arabic-Indic digit: str.isdigit() would accept it
        ("1_000", "not a decimal"),  # int() would accept it
        ("inf", "not a decimal"),
        ("NaN", "not a decimal"),
    ],
)
def test_parse_amount_rejects(text: str, problem: str) -> None:
    with pytest.raises(Bip21Error, match=problem):
        parse_uri(f"bitcoin:{ADDR}?amount={text}", MAINNET)


@pytest.mark.parametrize(
    ("sats", "text"),
    [(0, "0"), (1, "0.00000001"), (2_030_000_000, "20.3"), (5_000_000_000, "50"),
     (123_456_789, "1.23456789"), (2_100_000_000_000_000, "21000000")],
)
def test_format_amount(sats: int, text: str) -> None:
    assert format_amount(sats) == text
    assert parse_amount(text) == sats


@pytest.mark.parametrize("bad", [-1, 2_100_000_000_000_001, True, 1.5])
def test_build_rejects_bad_amount(bad: object) -> None:
    with pytest.raises(Bip21Error, match="amount"):
        build_uri(PaymentRequest(ADDR, amount=bad), MAINNET)  # type: ignore[arg-type]


def test_percent_decoding_of_label_and_message() -> None:
    uri = (f"bitcoin:{ADDR}?label=Caf%C3%A9%20%26%20Bar&message=1+1%3D2%25"
           "&note=a%2Fb")
    req = parse_uri(uri, MAINNET)
    assert req.label == "Café & Bar"
    assert req.message == "1+1=2%"  # '+' is a literal plus in RFC 3986, not a space
    assert req.extras == (("note", "a/b"),)


def test_build_percent_encodes_reserved_characters() -> None:
    req = PaymentRequest(ADDR, label="a&b=c d+e%#?/é", message="")
    uri = build_uri(req, MAINNET)
    assert uri == f"bitcoin:{ADDR}?label=a%26b%3Dc%20d%2Be%25%23%3F%2F%C3%A9&message="
    assert parse_uri(uri, MAINNET) == req


def test_bip321_lightning_and_payjoin_preserved() -> None:
    bolt11 = "lnbc420bogusinvoice"
    pj = "https://example.com/pj"
    uri = f"bitcoin:{SEGWIT}?amount=0.00001&lightning={bolt11}&pj=https%3A%2F%2Fexample.com%2Fpj&pjos=0"
    req = parse_uri(uri, MAINNET)
    assert req.amount == 1000
    assert req.lightning == bolt11
    assert req.pj == pj
    assert req.extra("pjos") == "0"
    assert req.extra("absent") is None
    assert parse_uri(build_uri(req, MAINNET), MAINNET) == req


def test_parameter_without_value_and_empty_segments() -> None:
    req = parse_uri(f"bitcoin:{ADDR}?&flag&&label=x&", MAINNET)
    assert req == PaymentRequest(ADDR, label="x", extras=(("flag", ""),))
    assert parse_uri(f"bitcoin:{ADDR}?", MAINNET) == PaymentRequest(ADDR)


@pytest.mark.parametrize(
    "req",
    [
        PaymentRequest(ADDR),
        PaymentRequest(SEGWIT, amount=1, label="", message=""),
        PaymentRequest(SEGWIT, amount=2_100_000_000_000_000, label="ünï ☃ 𝄞", message="a\nb\x00c"),
        PaymentRequest(ADDR, extras=(("x y", "&="), ("lightning", "lnbc1"), ("é", ""))),
    ],
)
def test_round_trip(req: PaymentRequest) -> None:
    assert parse_uri(build_uri(req, MAINNET), MAINNET) == req


def test_network_checked() -> None:
    assert parse_uri(f"bitcoin:{TB_ADDR}", TESTNET).address == TB_ADDR
    with pytest.raises(Bip21Error, match="wrong network"):
        parse_uri(f"bitcoin:{TB_ADDR}", MAINNET)
    with pytest.raises(Bip21Error, match="wrong network"):
        parse_uri(f"bitcoin:{SEGWIT}", REGTEST)
    with pytest.raises(Bip21Error, match="wrong network"):
        build_uri(PaymentRequest(SEGWIT), TESTNET)


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("", "not a bitcoin: URI"),
        (ADDR, "not a bitcoin: URI"),
        (f"litecoin:{ADDR}", "not a bitcoin: URI"),
        (f"bitcoin//{ADDR}", "not a bitcoin: URI"),
        ("bitcoin:", "address: missing"),
        ("bitcoin:?amount=1", "address: missing"),
        ("bitcoin:?lightning=lnbc1", "address: missing"),
        (f"bitcoin:{ADDR}x", "address"),
        (f"bitcoin:{ADDR[:-1]}", "Invalid checksum"),
        (f"bitcoin:{ADDR}#frag", "fragment"),
        (f"bitcoin:{ADDR}?amount=1&amount=2", "'amount': appears more than once"),
        (f"bitcoin:{ADDR}?label=a&label=b", "'label': appears more than once"),
        (f"bitcoin:{ADDR}?message=a&message=a", "'message': appears more than once"),
        (f"bitcoin:{ADDR}?x=1&x=1", "'x': appears more than once"),
        (f"bitcoin:{ADDR}?amount=1&%61mount=1", "'amount': appears more than once"),
        (f"bitcoin:{ADDR}?req-foo=1", "'req-foo': required parameter not supported"),
        (f"bitcoin:{ADDR}?req-foo", "'req-foo': required parameter not supported"),
        (f"bitcoin:{ADDR}?req%2Dfoo=1", "'req-foo': required parameter not supported"),
        (f"bitcoin:{ADDR}?req-pj=https%3A%2F%2Fx", "'req-pj'"),
        (f"bitcoin:{ADDR}?=1", "empty name"),
        (f"bitcoin:{ADDR}?amount", "amount: empty"),
        (f"bitcoin:{ADDR}?label=%zz", "label: '%' not followed"),
        (f"bitcoin:{ADDR}?message=%4", "message: '%' not followed"),
        (f"bitcoin:{ADDR}?x%=1", "parameter name: '%' not followed"),
        (f"bitcoin:{ADDR}?label=%C3", "label: percent-encoded bytes are not valid UTF-8"),
        (f"bitcoin:{ADDR}?label=%FF%FE", "not valid UTF-8"),
    ],
)
def test_parse_errors(uri: str, problem: str) -> None:
    with pytest.raises(Bip21Error, match=problem):
        parse_uri(uri, MAINNET)


def test_parse_rejects_non_text() -> None:
    with pytest.raises(Bip21Error, match="must be text"):
        parse_uri(b"bitcoin:" + ADDR.encode(), MAINNET)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("req", "problem"),
    [
        (PaymentRequest(""), "address: missing"),
        (PaymentRequest("notanaddress"), "address"),
        (PaymentRequest(ADDR, extras=(("", "v"),)), "empty name"),
        (PaymentRequest(ADDR, extras=(("amount", "1"),)), "use the PaymentRequest field"),
        (PaymentRequest(ADDR, extras=(("label", "1"),)), "use the PaymentRequest field"),
        (PaymentRequest(ADDR, extras=(("req-x", "1"),)), "required parameters not supported"),
        (PaymentRequest(ADDR, extras=(("a", "1"), ("a", "2"))), "appears more than once"),
        (PaymentRequest(ADDR, label="\ud800"), "label: text is not encodable"),
        (PaymentRequest(ADDR, extras=(("k", "\udfff"),)), "k: text is not encodable"),
    ],
)
def test_build_errors(req: PaymentRequest, problem: str) -> None:
    with pytest.raises(Bip21Error, match=problem):
        build_uri(req, MAINNET)


def test_error_is_wallet_error() -> None:
    assert issubclass(Bip21Error, WalletError)
