"""Names people read and trust (teams, factories, organisers, challenge titles) and free text
shown beside them (method cards): normalised, and refused when they carry control or
bidirectional characters; `skeletons` says what a name looks like (services/names.py refuses
one that looks like a name that exists already).

A name is normalised to NFKC with its whitespace collapsed to single spaces, so "Team  A" and
"Ｔｅａｍ A" are "Team A". Two names are confusable when their skeletons are equal: NFKC, case
folded, each character replaced by the representative of its class in Unicode's confusables data
(via `confusable_homoglyphs`: Cyrillic "а" and Latin "a", "l", "I" and "1", "O" and "0" share a
class), whitespace removed (`skeletons`). This follows UTS #39's skeleton, with classes closed
under the data's pairs.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib import resources

from arena.errors import BadRequest

# Control (Cc), format (Cf: bidirectional overrides and isolates, zero-width joiners, the BOM),
# private use (Co), unassigned (Cn), surrogates (Cs), line and paragraph separators (Zl, Zp).
UNSAFE_CATEGORIES = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"}
WHITESPACE = re.compile(r"\s+")


def unsafe_character(text: str, *, allow: str = "") -> str | None:
    """The first control, format or bidirectional character of `text` (not in `allow`), if any."""
    for char in text:
        if char not in allow and unicodedata.category(char) in UNSAFE_CATEGORIES:
            return char
    return None


def refuse_unsafe(text: str, what: str, *, allow: str = "") -> None:
    char = unsafe_character(text, allow=allow)
    if char is not None:
        raise BadRequest(f"{what} holds a control or bidirectional character (U+{ord(char):04X}); remove it")


def normalise(text: str) -> str:
    """NFKC, whitespace collapsed to single spaces, trimmed."""
    return WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def clean_name(text: str, what: str) -> str:
    """A name as stored: refused if it holds control or bidirectional characters, normalised."""
    refuse_unsafe(text, f"the {what} name", allow=" \t")
    return normalise(text)


@cache
def _representatives() -> dict[str, str]:
    """Each confusable character → the smallest character of its class."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        while parent.get(char, char) != char:
            char = parent[char] = parent.get(parent[char], parent[char])
        return char

    for char, glyphs in data.items():
        for glyph in glyphs:
            other = glyph["c"].replace("\u200e", "")  # the data marks right-to-left glyphs
            if len(char) == 1 and len(other) == 1:
                a, b = find(char), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return {char: find(char) for char in list(parent)}


def _mapped(text: str) -> str:
    table = _representatives()
    return "".join(table.get(char, char) for char in text if not char.isspace())


def skeletons(name: str) -> set[str]:
    """What a name looks like, twice: case folded before the look-alike classes (so "Olga" is
    "olga") and after them (so "I", a capital i, is "l", a small L). Names sharing a skeleton are
    names a reader could take for one another."""
    plain = unicodedata.normalize("NFKC", name)
    return {_mapped(plain.casefold()), _mapped(_mapped(plain).casefold())}
