"""Settings written as a name and a value on two lines.

A container's environment in a Kubernetes manifest, a Helm template or an ECS task definition lists each variable
as `- name: OKTA_API_TOKEN` with `value: "00…"` on the next line; Terraform writes `name = …` / `value = …`,
CloudFormation `ParameterKey` / `ParameterValue`, Elastic Beanstalk `OptionName` / `Value`, XML `<env name=…` /
`value=…/>`. The value's own line names nothing but "value", so neither a provider's rule nor a generic one sees
a credential there. The engine looks at the line around each hit of a `value` needle: where it is such a pair, the
pair is rescanned as `NAME="value"`, and what is found inside the value is mapped back to the value's own bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Where a value line may start: `value:` (YAML), `"value":` (JSON), `value =` (HCL, aligned or not), `value=` (XML)
NEEDLES = (b"value:", b'value":', b"value':", b'value" :', b"value =", b"value  =", b"value=")

_MAX_VALUE = 4096
_MAX_NAME = 128
_VALUE_HEAD = re.compile(
    rb"""[ \t]*(?:-[ \t]+|[\[{][ \t]*){0,3}(?P<q>["']?)(?:parameter_?|option_?)?value(?P=q)[ \t]*[:=][ \t]*""", re.I
)
_NAME_LINE = re.compile(
    rb"""[ \t]*(?:-[ \t]+|[\[{][ \t]*){0,3}(?:<[\w:.-]{1,40}[ \t]+)?(?P<q>["']?)"""
    rb"""(?:name|key|parameter_?key|parameter_?name|option_?name|variable)(?P=q)[ \t]*[:=][ \t]*"""
    rb"""(?P<v>["']?)(?P<name>[A-Za-z_][\w.\-/]{0,127})(?P=v)[ \t]*[,;]?[ \t]*(?:\#[^\r\n]*)?\r?$""",
    re.I,
)
# a value that is not a literal: a YAML block, anchor, alias or tag (`!Ref`), a flow collection, a template
_NOT_LITERAL = frozenset(b"|>&*!{[%@`")


@dataclass(frozen=True, slots=True)
class Pair:
    name: bytes
    start: int  # the value's bytes in the data
    end: int


def _value(data: bytes, start: int, hi: int) -> tuple[int, int] | None:
    """The literal value that starts at `start` and ends its line at `hi` (without its quotes), as a span."""
    end = hi - 1 if hi > start and data[hi - 1] == 13 else hi  # (a CRLF line)
    if start >= end:
        return None
    first = data[start]
    if first in (34, 39):  # a quoted value: up to its closing quote
        close = data.find(data[start : start + 1], start + 1, end)
        if close < 0:
            return None
        start, end = start + 1, close
    else:
        if first in _NOT_LITERAL:
            return None
        comment = data.find(b" #", start, end)
        if comment >= 0:
            end = comment
        while end > start and data[end - 1] in b" \t,;}>/":
            end -= 1
    if not 0 < end - start <= _MAX_VALUE:
        return None
    return start, end


def _name(data: bytes, lo: int, hi: int) -> bytes | None:
    if hi - lo > _MAX_NAME + 64:
        return None
    found = _NAME_LINE.match(data, lo, hi)
    return found.group("name") if found is not None else None


def find(data: bytes, hits: Iterable[int], reach: int) -> list[Pair]:
    """The pairs whose value line holds one of `hits` (needle offsets): the name on the line before it, or on the
    line after it (a map written value first). Each pair once, in offset order. Most hits are `value` in code or
    in JSON data: the line's start is matched first, and the neighbouring lines only where it fits."""
    out: list[Pair] = []
    last = -1
    size = len(data)
    for at in sorted(hits):
        lo = data.rfind(b"\n", max(0, at - reach), at) + 1
        if lo == last:
            continue
        last = lo
        head = _VALUE_HEAD.match(data, lo, at + 64)
        if head is None:
            continue
        hi = data.find(b"\n", at, at + reach)
        hi = hi if hi >= 0 else min(size, at + reach)
        span = _value(data, head.end(), hi)
        if span is None:
            continue
        name = None
        if lo >= 2:
            above = data.rfind(b"\n", max(0, lo - 1 - _MAX_NAME - 64), lo - 1) + 1
            name = _name(data, above, lo - 1)
        if name is None and hi < size:
            below = data.find(b"\n", hi + 1, hi + 2 + _MAX_NAME + 64)
            name = _name(data, hi + 1, below if below >= 0 else min(size, hi + 1 + _MAX_NAME + 64))
        if name is not None:
            out.append(Pair(name, *span))
    return out


def synthetic(data: bytes, pairs: list[Pair]) -> tuple[bytes, list[tuple[int, int, int]]]:
    """The pairs as `NAME="value"` lines, and per line (start and end of the value there, its start in `data`)."""
    parts: list[bytes] = []
    places: list[tuple[int, int, int]] = []
    at = 0
    for p in pairs:
        value = data[p.start : p.end]
        quote = b'"' if b'"' not in value else b"'" if b"'" not in value else b""
        head = p.name + b"=" + quote
        line = head + value + quote + b"\n"
        places.append((at + len(head), at + len(head) + len(value), p.start))
        parts.append(line)
        at += len(line)
    return b"".join(parts), places
