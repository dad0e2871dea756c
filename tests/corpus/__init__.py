"""A generated, labelled detection-quality corpus.

`tokens` holds seeded generators of fake credentials in the providers' real documented formats (lengths,
alphabets, checksums) plus decoys that must never be reported; `files` renders them into realistic files of
many languages and formats and records where every planted secret and every decoy sits.  Nothing here is a
real credential: every value is drawn from a seeded `random.Random`.
"""

from __future__ import annotations

from tests.corpus.files import Corpus, Decoy, Found, Measurement, Planted, build_corpus, measure
from tests.corpus.tokens import GENERATORS, Token

__all__ = ["GENERATORS", "Corpus", "Decoy", "Found", "Measurement", "Planted", "Token", "build_corpus", "measure"]
