"""Hypothesis: random and mutated payloads for every registered command into decode_message.

Only MessageDecodeError may come out. Whatever decodes must re-encode to the same bytes when the
message has one encoding (everything but `version`), and to a payload that decodes to the same
message otherwise.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.p2p.errors import MessageDecodeError
from core.p2p.messages import MESSAGE_TYPES, decode_message, encode_message
from tests.unit.message_samples import SAMPLES

COMMANDS = sorted(MESSAGE_TYPES)
SEEDS = [(m.COMMAND, m.serialize()) for m in SAMPLES]


def _check(command: str, payload: bytes) -> None:
    try:
        msg = decode_message(command, payload)
    except MessageDecodeError as e:
        assert e.command == command
        return
    assert type(msg) is MESSAGE_TYPES[command]
    assert str(msg) and repr(msg)
    out_command, out = encode_message(msg)
    assert out_command == command
    if msg.CANONICAL:
        assert out == payload
    else:
        assert decode_message(command, out) == msg


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    command, seed = draw(st.sampled_from(SEEDS))
    base = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 3))
        pos = draw(st.integers(0, len(base)))
        if kind == 0 and base:
            base[min(pos, len(base) - 1)] = draw(st.integers(0, 255))
        elif kind == 1:
            base[pos:pos] = draw(st.binary(min_size=1, max_size=9))
        elif kind == 2:
            del base[pos : pos + draw(st.integers(1, 9))]
        else:
            del base[pos:]
    # Sometimes decode the mutated bytes as a different command, to cross the shapes over.
    if draw(st.integers(0, 4)) == 0:
        command = draw(st.sampled_from(COMMANDS))
    return command, bytes(base)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(COMMANDS), st.binary(max_size=200))
def test_random_payloads(command: str, payload: bytes) -> None:
    _check(command, payload)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_payloads(case: tuple[str, bytes]) -> None:
    _check(*case)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(COMMANDS), st.data())
def test_counts_and_lengths_at_random(command: str, data: st.DataObject) -> None:
    """Payloads made of plausible-looking compact sizes and fields, to reach past the first length."""
    parts = data.draw(
        st.lists(
            st.one_of(
                st.sampled_from([b"\x00", b"\x01", b"\x02", b"\xfc", b"\xfd\xfd\x00", b"\xfe\x00\x00\x01\x00"]),
                st.binary(min_size=4, max_size=4),
                st.just(bytes(32)),
                st.just(bytes(80)),
            ),
            max_size=12,
        )
    )
    _check(command, b"".join(parts))


def test_every_seed_is_valid() -> None:
    for command, payload in SEEDS:
        _check(command, payload)
        assert decode_message(command, payload).serialize() == payload
