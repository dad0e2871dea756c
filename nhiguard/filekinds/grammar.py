"""Small, forgiving readers for the grammars configuration files use, each keeping the offset of every value:
INI, key=value lines, JSON (with comments and trailing commas), block YAML, XML, connection strings and URLs.

They never evaluate anything: the XML reader knows the five predefined entities and character references only
(a DOCTYPE is skipped, never expanded, so no entity bomb and no external entity), JSON and YAML values stay
strings. Malformed input yields what could be read before the damage, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote as pct_unquote

from nhiguard.filekinds.base import Lines, unquote
from nhiguard.filekinds.lazyre import lazy_re


# -- INI --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Entry:
    section: str
    key: str
    value: str
    offset: int  # of the value (quotes stripped)
    line: int  # offset of the line


# Every reader's pattern is linear in its line: possessive runs of blanks, greedy names stripped afterwards, never
# a lazy run followed by blanks (a line of 80,000 spaces took 43 s; a lazy name and the blanks after it that
# backtrack over each other are quadratic, two such runs cubic).
_SECTION = lazy_re(r"^\s*+\[([^\]]*+)\]\s*+(?:[#;].*)?$")
_INI_KV = lazy_re(r"^\s*+([^=:#;\s\[][^=:]*+)[=:]\s?(.*)$")


def ini(text: str, *, separators: str = "=:", comments: str = "#;", inline_comments: bool = False) -> Iterator[Entry]:
    section = ""
    pattern = _INI_KV if separators == "=:" else lazy_re(
        r"^\s*+([^" + re.escape(separators) + r"#;\s\[][^" + re.escape(separators) + r"]*+)["
        + re.escape(separators) + r"]\s?(.*)$"
    )
    for start, line in Lines(text):
        stripped = line.lstrip()
        if not stripped or stripped[0] in comments:
            continue
        m = _SECTION.match(line)
        if m:
            section = m.group(1).strip()
            continue
        m = pattern.match(line)
        if not m:
            continue
        raw, at = m.group(2), start + m.start(2)
        if inline_comments:
            cut = re.search(r"\s[#;]", raw)
            if cut and not raw.lstrip().startswith(("'", '"')):
                raw = raw[: cut.start()]
        value, at = unquote(raw.rstrip(), at)
        yield Entry(section, m.group(1).strip(), value, at, start)


# -- key = value / key: value / export KEY=value -------------------------------------------------------------------
_ASSIGN = lazy_re(
    r"""^\s*+(?:export\s++|set\s++|setenv\s++|declare\s++(?:-\w+\s++)?|\$)?([A-Za-z_][\w.\-\[\]'"/]*+)\s*+(?:=|:(?!//))\s*+(.*)$"""
)


def assignments(text: str) -> Iterator[Entry]:
    """Shell, dotenv and properties lines: `KEY=value`, `export KEY="value"`, `key: value`; trailing `# comment`
    after an unquoted value is dropped."""
    for start, line in Lines(text):
        stripped = line.lstrip()
        if not stripped or stripped[0] in "#!;" or stripped.startswith("//"):
            continue
        m = _ASSIGN.match(line)
        if not m:
            continue
        raw, at = _statement_end(m.group(2)), start + m.start(2)
        if raw[:1] and raw[:1] in "\"'":
            end = _closing(raw, raw[0])
            if end > 0:
                yield Entry("", m.group(1), raw[1:end], at + 1, start)
                continue
        cut = _COMMENT.search(raw)
        if cut:
            raw = raw[: cut.start()]
        yield Entry("", m.group(1), raw.strip(), at, start)


def _statement_end(raw: str) -> str:
    """A value without the blanks and the one `;` that end its statement."""
    raw = raw.rstrip()
    return raw[:-1].rstrip() if raw.endswith(";") else raw


_COMMENT = lazy_re(r"\s#")  # (one blank, not a run of them: a run searched from every blank is quadratic)


def _closing(raw: str, quote: str) -> int:
    i = 1
    while i < len(raw):
        if raw[i] == "\\" and quote == '"':
            i += 2
            continue
        if raw[i] == quote:
            return i
        i += 1
    return -1


# -- JSON -------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Node:
    """A JSON value: `value` is a str/float/bool/None for scalars, a list of (key, Node) for objects, a list of
    Node for arrays. `offset`/`length` locate a string's content (inside the quotes) or a scalar as written."""

    kind: str  # "object" | "array" | "string" | "scalar"
    value: object
    offset: int
    length: int
    key_offset: int = -1

    def items(self) -> list[tuple[str, Node]]:
        return self.value if self.kind == "object" else []  # type: ignore[return-value]

    def elements(self) -> list[Node]:
        return self.value if self.kind == "array" else []  # type: ignore[return-value]

    def get(self, key: str) -> Node | None:
        for k, v in self.items():
            if k == key:
                return v
        return None

    def text(self, key: str) -> str | None:
        node = self.get(key)
        if node is None or node.kind == "object" or node.kind == "array":
            return None
        return node.value if isinstance(node.value, str) else None if node.value is None else str(node.value)


_WS = lazy_re(r"(?:\s++|//[^\n]*+|/\*.*?(?:\*/|\Z)|#[^\n]*+)*+", re.S)  # (an unclosed comment runs to the end)
_STRING = lazy_re(r'"((?:[^"\\]|\\.)*)"', re.S)
_SCALAR = lazy_re(r"[^\s,\]\}:]+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", '"': '"'}


def _json_unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw

    def one(m: re.Match[str]) -> str:
        s = m.group(1)
        if s[0] == "u":
            try:
                return chr(int(s[1:], 16))
            except ValueError:
                return s
        return _ESCAPES.get(s, s)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, raw)


def json_tree(text: str, *, limit: int = 200_000) -> Node | None:
    """The document's root, or None when it is not JSON at all. Tolerates comments and trailing commas."""
    pos = [0]
    budget = [limit]

    def ws() -> None:
        pos[0] = _WS.match(text, pos[0]).end()  # type: ignore[union-attr]

    def value(depth: int) -> Node | None:
        budget[0] -= 1
        if depth > 64 or budget[0] < 0:
            return None
        ws()
        if pos[0] >= len(text):
            return None
        c = text[pos[0]]
        if c == "{":
            start = pos[0]
            pos[0] += 1
            items: list[tuple[str, Node]] = []
            while True:
                ws()
                if pos[0] >= len(text):
                    return Node("object", items, start, pos[0] - start)
                if text[pos[0]] == "}":
                    pos[0] += 1
                    return Node("object", items, start, pos[0] - start)
                if text[pos[0]] == ",":
                    pos[0] += 1
                    continue
                m = _STRING.match(text, pos[0])
                if not m:
                    m2 = _SCALAR.match(text, pos[0])  # unquoted keys (JSON5-ish)
                    if not m2:
                        return Node("object", items, start, pos[0] - start)
                    key, key_at = m2.group(0), m2.start()
                    pos[0] = m2.end()
                else:
                    key, key_at = _json_unescape(m.group(1)), m.start(1)
                    pos[0] = m.end()
                ws()
                if pos[0] < len(text) and text[pos[0]] in ":=":
                    pos[0] += 1
                child = value(depth + 1)
                if child is None:
                    return Node("object", items, start, pos[0] - start)
                child.key_offset = key_at
                items.append((key, child))
        if c == "[":
            start = pos[0]
            pos[0] += 1
            elements: list[Node] = []
            while True:
                ws()
                if pos[0] >= len(text):
                    return Node("array", elements, start, pos[0] - start)
                if text[pos[0]] == "]":
                    pos[0] += 1
                    return Node("array", elements, start, pos[0] - start)
                if text[pos[0]] == ",":
                    pos[0] += 1
                    continue
                child = value(depth + 1)
                if child is None:
                    return Node("array", elements, start, pos[0] - start)
                elements.append(child)
        if c == '"':
            m = _STRING.match(text, pos[0])
            if not m:
                return None
            pos[0] = m.end()
            return Node("string", _json_unescape(m.group(1)), m.start(1), len(m.group(1)))
        m = _SCALAR.match(text, pos[0])
        if not m:
            pos[0] += 1
            return None
        pos[0] = m.end()
        raw = m.group(0)
        scalar: object = {"true": True, "false": False, "null": None}.get(raw, raw)
        return Node("scalar", scalar, m.start(), len(raw))

    ws()
    if pos[0] >= len(text) or text[pos[0]] not in "{[":
        return None
    return value(0)


def walk_json(node: Node, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Node]]:
    """Every (path, node) below `node`, depth first; array elements appear as their index."""
    yield path, node
    if node.kind == "object":
        for key, child in node.items():
            yield from walk_json(child, (*path, key))
    elif node.kind == "array":
        for i, child in enumerate(node.elements()):
            yield from walk_json(child, (*path, str(i)))


# -- block YAML -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class YamlScalar:
    path: tuple[str, ...]  # keys from the root; a list item adds "-"
    key: str
    value: str
    offset: int
    line: int


def _yaml_key(line: str) -> tuple[str, str, str | None, int] | None:
    """`- key: value` → (the item's dash and its blanks, the key without quotes, the value or None, the value's
    offset in the line). The key ends at the line's first colon, which a blank or the line's end must follow.
    String operations, not a regex: a lazy key before blanks backtracked over a line of spaces (cubic)."""
    body = line.lstrip()
    at = len(line) - len(body)
    dash = ""
    if body[:1] == "-" and body[1:2].isspace():
        after = body[1:].lstrip()
        dash, body = body[: len(body) - len(after)], after
        at += len(dash)
    colon = body.find(":")
    if colon < 0 or body[colon + 1 : colon + 2].strip():
        return None
    key = body[:colon].rstrip()
    if len(key) >= 2 and key[0] in "\"'" and key[-1] == key[0]:
        key = key[1:-1]
    rest = body[colon + 1 :]
    value = rest.strip()
    if not rest or not value:
        return dash, key.strip(), None, 0
    return dash, key.strip(), value, at + colon + 1 + len(rest) - len(rest.lstrip())


def yaml_scalars(text: str) -> Iterator[YamlScalar]:
    """`key: value` pairs of block YAML with the chain of parent keys (indentation), flow values left as text,
    block scalars (`|`, `>`) skipped. Enough for configuration files; anchors and tags are kept as text."""
    stack: list[tuple[int, str]] = []
    block_indent = -1
    for start, line in Lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if block_indent >= 0:
            if indent > block_indent:
                continue
            block_indent = -1
        parsed = _yaml_key(line)
        if parsed is None:
            continue
        dash, key, raw, column = parsed
        key_indent = indent + len(dash)
        while stack and stack[-1][0] >= key_indent:
            stack.pop()
        if dash:
            stack.append((indent, "-"))
        if not raw or raw.startswith("#"):
            stack.append((key_indent, key))
            continue
        if raw[:1] and raw[:1] in "|>":
            block_indent = key_indent
            continue
        at = start + column
        if raw[:1] and raw[:1] in "\"'":
            end = _closing(raw, raw[0])
            value, at = (raw[1:end], at + 1) if end > 0 else (raw, at)
        else:
            cut = _COMMENT.search(raw)
            value = raw[: cut.start()].rstrip() if cut else raw
        yield YamlScalar(tuple(k for _, k in stack), key, value, at, start)


# -- XML --------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Element:
    tag: str
    offset: int
    attrs: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # name → (value, offset, raw length)
    text: tuple[str, int, int] = ("", -1, 0)
    children: list[Element] = field(default_factory=list)
    parent: Element | None = None

    def attr(self, name: str) -> str | None:
        got = self.attrs.get(name)
        if got is None:
            low = name.lower()
            for k, v in self.attrs.items():
                if k.lower() == low:
                    return v[0]
            return None
        return got[0]

    def child(self, tag: str) -> Element | None:
        low = tag.lower()
        for c in self.children:
            if c.tag.lower() == low:
                return c
        return None

    def child_text(self, tag: str) -> str | None:
        c = self.child(tag)
        return c.text[0].strip() if c is not None else None

    def iter(self) -> Iterator[Element]:
        yield self
        for c in self.children:
            yield from c.iter()


_XML_TOKEN = lazy_re(
    r"<!--.*?(?:-->|$)|<!\[CDATA\[(.*?)(?:\]\]>|$)|<\?.*?(?:\?>|$)|<!DOCTYPE[^\[>]*+(?:\[[^\]]*+\][^\[>]*+)*+>"
    r"|</\s*([\w:.\-]+)\s*>|<([\w:.\-]+)((?:\s+[\w:.\-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>",
    re.S,
)
_XML_ATTR = lazy_re(r"(?<![\w:.\-])([\w:.\-]++)\s*+=\s*+(?:\"([^\"]*+)\"|'([^']*+)')")
_ENTITY = lazy_re(r"&(?:(amp|lt|gt|quot|apos)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def xml_unescape(raw: str) -> str:
    if "&" not in raw:
        return raw

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return _NAMED[m.group(1)]
        try:
            return chr(int(m.group(2)) if m.group(2) else int(m.group(3), 16))
        except (ValueError, OverflowError):
            return m.group(0)

    return _ENTITY.sub(one, raw)


def xml_tree(text: str) -> Element:
    """A synthetic root holding the document's elements. Unclosed or mismatched tags close what they must."""
    root = Element("#document", 0)
    current = root
    last = 0
    for m in _XML_TOKEN.finditer(text):
        gap = text[last : m.start()]
        if gap.strip() and current is not root:
            _add_text(current, gap, last)
        last = m.end()
        if m.group(1) is not None and m.group(0).startswith("<![CDATA["):
            if current is not root:
                _set_text(current, m.group(1), m.start(1), len(m.group(1)), raw=True)
            continue
        if m.group(2):
            tag = m.group(2)
            node: Element | None = current
            while node is not None and node is not root and node.tag != tag:
                node = node.parent
            if node is not None and node is not root:
                current = node.parent or root
            continue
        if m.group(3):
            element = Element(m.group(3), m.start(), parent=current)
            base = m.start(4)
            for a in _XML_ATTR.finditer(m.group(4)):
                raw = a.group(2) if a.group(2) is not None else a.group(3)
                at = base + (a.start(2) if a.group(2) is not None else a.start(3))
                element.attrs[a.group(1)] = (xml_unescape(raw), at, len(raw))
            current.children.append(element)
            if not m.group(5):
                current = element
    return root


def _add_text(element: Element, raw: str, at: int) -> None:
    stripped = raw.strip()
    if element.text[1] >= 0 and element.text[0].strip():
        return
    lead = len(raw) - len(raw.lstrip())
    _set_text(element, stripped, at + lead, len(stripped))


def _set_text(element: Element, written: str, at: int, length: int, *, raw: bool = False) -> None:
    element.text = (written if raw else xml_unescape(written), at, length)


# -- connection strings and URLs --------------------------------------------------------------------------------
_CONN_PAIR = lazy_re(r"(?:^|(?<=;))\s*+([^=;]++)=\s*+(\{[^}]*+\}|\"[^\"]*+\"|'[^']*+'|[^;]*+)\s*+(?:;|$)")


def conn_pairs(value: str) -> dict[str, tuple[str, int]]:
    """ADO.NET / ODBC / JDBC `;key=value` pairs: lower-case key → (value, offset in `value`)."""
    out: dict[str, tuple[str, int]] = {}
    for m in _CONN_PAIR.finditer(value):
        raw, at = m.group(2), m.start(2)
        if raw[:1] and raw[:1] in "{\"'" and len(raw) >= 2:
            raw, at = raw[1:-1], at + 1
        out[m.group(1).strip().lower()] = (raw, at)
    return out


_URL = lazy_re(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]{1,30})://(?P<user>[^:@/\s\"'<>]{0,256}):"
    r"(?P<pw>[^@/\s\"'<>]{1,512}|[^@\s\"'<>]{1,512}?)"  # (bounded: a run with no '@' is not read to its end)
    r"@(?P<host>[^/:\s?\"'<>]+)(?::(?P<port>\d{1,5}))?(?P<path>/[^\s?\"'<>]*)?"
)


@dataclass(frozen=True, slots=True)
class UrlCred:
    password: str  # percent-decoded
    offset: int  # of the password as written
    length: int
    scheme: str
    user: str
    host: str
    port: str
    path: str


def url_creds(value: str, base: int = 0) -> Iterator[UrlCred]:
    for m in _URL.finditer(value):
        pw = m.group("pw")
        yield UrlCred(pct_unquote(pw), base + m.start("pw"), len(pw), m.group("scheme").lower(),
                      pct_unquote(m.group("user")), m.group("host"), m.group("port") or "",
                      (m.group("path") or "").lstrip("/"))
