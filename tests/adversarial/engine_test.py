"""Hostile inputs against the engine: nothing silently dropped, time linear in size and in candidates, hits
bounded. Linearity is checked by comparing N with 4N (a quadratic step shows as 16x), with slack for a loaded
machine."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from nhiguard.engine import Engine
from nhiguard.engine.prefilter import THIN
from nhiguard.model import Chunk, Match, Origin
from nhiguard.sources.text import prepare
from tests.adversarial import inputs
from tests.support.tokens import github_classic


def _scan(engine: Engine, data: bytes, path: str = "f.txt") -> list[Match]:
    prepared = prepare(data)
    assert prepared is not None
    return engine.scan(Chunk(data=prepared, origin=Origin(path=path)))


def _seconds(engine: Engine, data: bytes) -> tuple[float, list[Match]]:
    started = time.perf_counter()
    found = _scan(engine, data)
    return time.perf_counter() - started, found


def _linear(engine: Engine, build: Callable[[int], bytes], n: int, expect: Callable[[int], int]) -> None:
    _scan(engine, build(n // 4))  # compile the patterns involved first
    small, found_small = _seconds(engine, build(n))
    large, found_large = _seconds(engine, build(4 * n))
    assert len(found_small) == expect(n)
    assert len(found_large) == expect(4 * n)
    # linear: about 4x; a step that grows with candidates x candidates: about 16x
    assert large < 9 * small + 0.3, (small, large)


def test_secret_after_a_line_crowded_with_keywords_is_found(engine: Engine) -> None:
    data, secret = inputs.crowded_keywords(600_000)
    found = _scan(engine, data)
    assert [m.secret for m in found] == [secret]
    assert not engine.stats.timeouts


def test_crowded_line_costs_linear_time(engine: Engine) -> None:
    _linear(engine, lambda n: inputs.crowded_keywords(n)[0], 150_000, lambda n: 1)


def test_one_nul_near_the_start_hides_nothing(engine: Engine) -> None:
    data, token = inputs.nul_then_secret()
    found = _scan(engine, data)
    assert [(m.secret, m.line) for m in found] == [(token, 2)]


def test_binary_printable_strings_are_scanned(engine: Engine) -> None:
    data, token = inputs.binary_with_token()
    assert token in [m.secret for m in _scan(engine, data)]


def test_utf16_is_still_transcoded(engine: Engine) -> None:
    token = github_classic("wide")
    data = f"first\r\nT = '{token}'\r\n".encode("utf-16")
    assert [(m.secret, m.line) for m in _scan(engine, data)] == [(token, 2)]


def test_many_tokens_one_per_line_linear(engine: Engine) -> None:
    _linear(engine, inputs.tokens_per_line, 4000, lambda n: n)


def test_many_tokens_on_one_line_linear(engine: Engine) -> None:
    _linear(engine, inputs.tokens_one_line, 4000, lambda n: n)


def test_many_provider_sections_linear(engine: Engine) -> None:
    _linear(engine, inputs.provider_sections, 1000, lambda n: n)


def test_many_names_on_the_line_above_linear(engine: Engine) -> None:
    _linear(engine, inputs.named_log_lines, 1000, lambda n: n)


def test_many_escaped_json_lines_linear(engine: Engine) -> None:
    _linear(engine, inputs.escaped_json_lines, 2000, lambda n: n)


def test_many_escaped_json_settings_on_one_line_linear(engine: Engine) -> None:
    _linear(engine, inputs.escaped_json_one_line, 2000, lambda n: n)


def test_many_generic_passwords_linear(engine: Engine) -> None:
    # (a few random passwords look like placeholders to the generic filters: count what is found at N and 4N)
    _scan(engine, inputs.generic_passwords(500))
    small, found_small = _seconds(engine, inputs.generic_passwords(3000))
    large, found_large = _seconds(engine, inputs.generic_passwords(12000))
    assert len(found_small) > 0.98 * 3000 and len(found_large) > 0.98 * 12000
    assert large < 9 * small + 0.3, (small, large)


def test_many_dependent_pairs_linear(engine: Engine) -> None:
    def pairs(n: int) -> bytes:
        return inputs.aws_pairs(n)[0]

    _scan(engine, pairs(100))
    small, _ = _seconds(engine, pairs(1500))
    large, found_large = _seconds(engine, pairs(6000))
    paired = [m for m in found_large if m.rule_id == "aws-secret-access-key"]
    assert len(paired) == 6000 and all(dict(m.parts) for m in paired)
    assert large < 9 * small + 0.3, (small, large)


@pytest.mark.parametrize("data", [inputs.one_letter(1 << 20), inputs.one_letter(1 << 20, b"a"),
                                  inputs.percent_escapes(1 << 20), inputs.unicode_escapes(1 << 20)],
                         ids=["A", "a", "%2f", "u0041"])
def test_a_needle_at_every_byte_keeps_few_hits(engine: Engine, data: bytes) -> None:
    hits = engine.prefilter.scan(data)
    # thinned to about one hit per THIN bytes per needle (a few needles may hit), never one per byte
    assert len(hits) < 8 * len(data) / THIN
    started = time.perf_counter()
    _scan(engine, data)
    assert time.perf_counter() - started < 10


def test_thinning_keeps_hits_on_separate_lines_and_runs(engine: Engine) -> None:
    # a token per short line: every line keeps its own hit (thinning never crosses a line break)
    data = inputs.tokens_per_line(50)
    assert len(_scan(engine, data)) == 50


def test_inline_allow_on_a_crowded_line(engine: Engine) -> None:
    tokens = [github_classic(f"allow{i}") for i in range(2000)]
    allowed = (" ".join(tokens) + "  # nhiguard:allow\n").encode()
    assert _scan(engine, allowed) == []
    nextline = b"# pragma: allowlist nextline secret\n" + " ".join(tokens).encode() + b"\n" + tokens[0].encode()
    found = _scan(engine, nextline)
    assert [(m.secret, m.line) for m in found] == [(tokens[0], 3)]


def _rsa_block() -> str:
    import random as _random

    from tests.corpus.tokens import pem

    rng = _random.Random("pem-forms")
    return pem("RSA PRIVATE KEY", bytes(rng.randrange(256) for _ in range(600)))


@pytest.mark.parametrize(
    "form",
    [
        lambda k: 'export SSH_KEY="' + k.replace("\n", " ") + '"\n',  # line breaks turned to spaces
        lambda k: "ssh_key: " + k.replace("\n", " ") + "\n",
        lambda k: k.replace("\n", "\r") + "\r",  # CR-only line breaks
        lambda k: "\n".join("# " + line for line in k.split("\n")) + "\n",  # commented out
        lambda k: "ssh.key=" + k.replace("\n", "\\n\\\n    ") + "\n",  # a .properties value continued
        lambda k: "<cfg><key>" + k.replace("\n", "&#xA;") + "</key></cfg>\n",  # XML character references
        lambda k: __import__("base64").encodebytes((k + "\n").encode()).decode(),  # `base64 id_rsa`: 76 a line
        lambda k: "key.b64: |\n" + "".join(  # the same in a YAML block scalar, indented
            "  " + line + "\n" for line in __import__("base64").encodebytes((k + "\n").encode()).decode().splitlines()),
    ],
)
def test_a_private_key_in_its_other_written_forms_is_found(engine: Engine, form: Callable[[str], str]) -> None:
    assert {m.rule_id for m in _scan(engine, form(_rsa_block()).encode())} == {"private-key-pem"}


def test_wrapped_base64_behind_an_indentation_is_one_block() -> None:
    """A YAML block scalar indents every line of `base64`'s output: the block is its lines without the indentation
    (a token that crosses a line break decodes whole), and a line indented otherwise ends it."""
    import base64

    from nhiguard.engine import decode

    payload = b"x" * 50 + b"GITHUB_TOKEN=ghp_" + b"A" * 36 + b"\n" + b"y" * 200
    lines = base64.encodebytes(payload).decode().splitlines()
    text = ("data: |\n" + "".join("    " + line + "\n" for line in lines) + "  other: " + lines[0] + "\n").encode()
    lo = text.index(lines[1].encode())
    block = decode.wrapped_run(text, lo, lo + len(lines[1]))
    assert block is not None
    start, end, run = block
    assert start == text.index(lines[0].encode()) and run == "".join(lines).encode()
    assert base64.b64decode(run) == payload and text[end:].startswith(b"\n  other:")


def test_wrapped_base64_is_decoded_once_block_by_block() -> None:
    # a block never reaches back over the previous one: 10 MB of wrapped base64 whose every line hits a needle
    # was decoded again from each next line (over 300 s); now each byte is decoded once
    import base64

    from nhiguard.engine import decode

    data = base64.encodebytes(b"GITHUB_TOKEN=ghp_ " * 80_000)  # 1.9 MB: more than one block (decode.MAX_RUN)
    first = decode.wrapped_run(data, 0, data.index(b"\n"))
    assert first is not None and first[0] == 0 and first[1] < len(data)
    lo = first[1] + 1  # the line after the first block, where the next hit starts the next block
    hi = data.index(b"\n", lo)
    second = decode.wrapped_run(data, lo, hi, floor=first[1])
    assert second is not None and second[0] == lo and second[1] > hi
    unbounded = decode.wrapped_run(data, lo, hi)
    assert unbounded is not None and unbounded[0] < first[1]  # (without the floor it reached back over the first)
