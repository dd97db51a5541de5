"""District names compared as people write them: transliteration (Füzuli/Fuzuli/Fizuli),
case, and words such as 'district' or 'rayonu' ignored."""

from __future__ import annotations

import difflib
import re
import unicodedata

#: Letters written differently by different transliterations, as one (also used by
#: the map's search, which folds what is typed the same way).
TRANSLIT = {
    "ə": "a",
    "ı": "i",
    "ü": "u",
    "ö": "o",
    "ğ": "g",
    "ş": "sh",
    "ç": "ch",
    "q": "g",
    "c": "j",
    "x": "kh",
    "y": "i",
    "ž": "z",
    "š": "s",
    "č": "c",
    "ć": "c",
    "đ": "dj",
}
_TRANSLIT = str.maketrans(TRANSLIT)


_ADMIN_WORDS = re.compile(r"\b(district|rayon|rayonu|region|city|şəhəri|seheri|municipality)\b")


def fold_name(name: object) -> str:
    """A district name reduced for tolerant matching (Cəbrayıl → jabraiil, Fizuli...)."""
    text = unicodedata.normalize("NFC", str(name)).casefold()
    text = _ADMIN_WORDS.sub(" ", text).translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if ch.isalnum())
    return text


def names_match(a: object, b: object, *, threshold: float = 0.8) -> bool:
    """Whether two district names are the same place, allowing transliterations."""
    fa, fb = fold_name(a), fold_name(b)
    if not fa or not fb:
        return False
    return fa == fb or difflib.SequenceMatcher(None, fa, fb).ratio() >= threshold
