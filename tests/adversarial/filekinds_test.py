"""The file-kind readers on hostile lines: every reader is linear in its input. Each case appends to a real
credential file (the generated corpus) one line that once took one of them minutes or hours: a long run of blanks
or newlines, an unclosed DOCTYPE, a word with no `=`. The planted credentials must still be found, and quickly
(the bound is generous: each case took from 14 s to hours before)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nhiguard.config import Config
from nhiguard.engine import Engine
from nhiguard.filekinds import grammar
from nhiguard.model import Chunk, Origin
from nhiguard.scan import ScanSettings, load_rules
from tests.filekinds.corpus import Case, build

N = 40_000
PW = "Vq7-" + "rT2x"  # assembled, so the repository's own scan finds no credential-shaped literal here

# (a path of the corpus, what is appended after its content)
HOSTILE = [
    ("AppData/Roaming/FileZilla/sitemanager.xml", "<!DOCTYPE x " + "[]" * 60),  # exponential
    ("home/.m2/settings.xml", "<!DOCTYPE x " + "[]" * 60),
    ("stack/docker-compose.yml", " " * N + "x"),  # cubic
    ("ansible/group_vars/all.yml", "\t" * N + "x"),
    ("ansible/inventory.ini", "a" * N),  # quadratic (a word with no '=')
    ("app/mysite/settings.py", "\n" * N),  # quadratic (`^\s*` over blank lines)
    ("network/core-sw1/running-config", " " * N),
    ("home/.pypirc", "a" + " " * N + "x"),
    ("dotnet/appsettings.Production.json", "// " + " " * N),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rules(Config(root=Path(".")), ScanSettings()))


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {c.path: c for c in build()}


@pytest.mark.parametrize(("path", "tail"), HOSTILE, ids=[p for p, _ in HOSTILE])
def test_a_hostile_line_neither_hangs_a_reader_nor_hides_its_credentials(
    engine: Engine, cases: dict[str, Case], path: str, tail: str
) -> None:
    case = cases[path]
    data = case.content + b"\n" + tail.encode() + b"\n"
    started = time.perf_counter()
    found = {m.secret for m in engine.scan(Chunk(data=data, origin=Origin(path=path)))}
    assert time.perf_counter() - started < 5
    assert {p.secret for p in case.planted} <= found


@pytest.mark.parametrize("value", [
    "Server=db;Password=" + PW + ";" + " " * N,  # connection string with trailing blanks
    " " * N + "x",
    "a=" * N,
])
def test_connection_strings_are_read_in_linear_time(value: str) -> None:
    started = time.perf_counter()
    grammar.conn_pairs(value)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("text", [
    "[" + "/*," * N,  # unclosed comments
    "[" + " " * N,
])
def test_json_reader_is_linear(text: str) -> None:
    started = time.perf_counter()
    grammar.json_tree(text)
    assert time.perf_counter() - started < 2


def test_readers_keep_their_results() -> None:
    # the linear forms read what the backtracking ones did
    assert grammar.conn_pairs("Server = db ; Password=\"a;b\" ;User Id= u1")["password"] == ("a;b", 24)
    entries = list(grammar.ini("[ main ]\nkey   =  value ; note\n", inline_comments=True))
    assert [(e.section, e.key, e.value) for e in entries] == [("main", "key", "value")]
    assigned = list(grammar.assignments("export TOKEN = 'abc' ;  \nNAME=value ;\nX=1 # c\n"))
    assert [(e.key, e.value) for e in assigned] == [("TOKEN", "abc"), ("NAME", "value"), ("X", "1")]
    scalars = list(grammar.yaml_scalars('db:\n  - "user": bob  # c\n    pass:   s3cr3t   \n  url: http://x\n'))
    assert [(s.path, s.key, s.value) for s in scalars] == [
        (("db", "-"), "user", "bob"), (("db", "-"), "pass", "s3cr3t"), (("db",), "url", "http://x")]
