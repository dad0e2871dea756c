"""`base.hash_scheme` tries its schemes only on values with a scheme mark ($, a leading { or *, md5): a scheme
added without one would never be tried. Each scheme's pattern must require a mark."""

from __future__ import annotations

import re

from nhiguard.filekinds import base


def test_every_hash_scheme_requires_the_mark_the_quick_check_looks_for() -> None:
    for pattern, scheme, _fast in base._HASHES:
        source = pattern.pattern
        branches = source.split("|^") if scheme != "django" else [source]
        for branch in branches:
            assert "\\$" in branch or re.match(r"\^?(?:\\\{|\\\*|md5)", branch), (scheme, branch)


def test_marked_and_unmarked_values() -> None:
    assert base.hash_scheme("$2b$12$" + "a" * 53) == ("bcrypt", False)
    assert base.hash_scheme("md5" + "0" * 32) == ("postgres-md5", True)
    assert base.hash_scheme("*" + "A" * 40) == ("mysql41", True)
    assert base.hash_scheme("{SHA}" + "a" * 27 + "=") == ("sha1", True)
    assert base.hash_scheme("correct horse battery staple") is None
