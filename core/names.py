"""The names people sign with: one normal form, and the checks that keep a reader without an
account from passing for an account, an editor or the site.

- ``normalize(name)`` is what is stored and shown: NFKC, with bidi controls and invisible
  characters removed (format and control characters, Unicode's default-ignorable code points,
  the Hangul fillers, the blank Braille pattern), white space runs made one space, at most
  three combining marks on a letter.
- ``skeleton(name)`` is a key under which look-alike names are equal: case-folded, accents
  dropped, separators dropped, and letters that imitate Latin ones (Cyrillic "о", Greek "Ν",
  Cherokee "Ꭺ", the digit "1" for "l" ...) mapped to the Latin letter they imitate; the
  compatibility forms (fullwidth, mathematical letters) are already gone with NFKC.
- ``refusal(name)`` says why a guest may not sign with a name, or None.

Features and limitations: the look-alike table is small and built in, in the spirit of
Unicode TR39's skeleton but not the whole of its confusables.txt: it covers letters that
imitate *Latin* ones (usernames and reserved words are mostly Latin), taken from TR39's data.
Look-alikes between two non-Latin scripts are not mapped; a case-folded match still is. It
errs on the side of refusing: "i" and "l" are one letter here (capital I looks like l), as
are "rn" and "m". Matching a guest's name against accounts reads every username (one query):
fine for thousands of accounts; past that, keep the skeletons in an indexed column.
"""

import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_LENGTH = 100

NO_LETTER = gettext_lazy("Choose a name with at least one letter.")
ACCOUNT_NAME = gettext_lazy("That name belongs to an account: log in, or choose another.")
RESERVED = gettext_lazy("That name is reserved: choose another.")

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), which renders as
# nothing, plus the blank Braille pattern. Some are letters (the Hangul fillers) or marks.
_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_DROPPED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
_MAX_MARKS = 3

# Look-alikes of Latin letters, from TR39's confusables (MA table). Capitals are mapped before
# case folding: Greek capital Nu looks like N, its small letter like v.
_CAPITAL_LOOKALIKES = {
    "a": "ΑА",
    "b": "ΒВЬ",
    "c": "ϹС",
    "e": "ΕЕ",
    "f": "Ϝ",
    "g": "Ԍ",
    "h": "ΗН",
    "j": "ͿЈ",
    "k": "ΚК",
    "l": "ΙІӀ",
    "m": "ΜМϺ",
    "n": "Ν",
    "o": "ΟОՕ",
    "p": "ΡР",
    "s": "ЅՏ",
    "t": "ΤТ",
    "u": "Ս",
    "v": "Ѵ",
    "w": "Ԝ",
    "x": "ΧХ",
    "y": "ΥϒУҮ",
    "z": "Ζ",
}
# After case folding; also the scripts without case (Canadian syllabics, runes), and Cherokee,
# which folds to its capitals.
_SMALL_LOOKALIKES = {
    "a": "αаɑᗅᎪ",
    "b": "ƅᏏᖯᗷᏴ",
    "c": "сᴄᏟ",
    "d": "ԁᏧᑯᗞᗪᎠ",
    "e": "еҽᎬ",
    "f": "ẝքᖴ",
    "g": "ƍɡցᶃᏀᏳ",
    "h": "һհᏂᕼᎻ",
    "j": "ϳјᒍᎫ",
    "k": "кᛕᏦ",
    "l": "1|iıɩɪιіӏǀוןا١۱ߊᛁ∣ᒪᏞᎥ",
    "m": "ᗰᛖᎷ",
    "n": "ոռ",
    "o": "0οσоօסه٥ᴏᴑ०੦૦௦౦೦൦๐໐၀ဝ",
    "p": "ρрᑭᏢ",
    "q": "ԛգզ",
    "r": "гᴦᖇᎡᏒ",
    "s": "ѕƽᏚᏕ",
    "t": "Ꭲ",
    "u": "υսʋᴜᑌ",
    "v": "νѵטᴠᐯᏙ",
    "w": "ѡԝաɯᴡᏔᎳ",
    "x": "х×ᕁ",
    "y": "уүγɣʏᎩᎽ",
    "z": "ᴢᏃ",
}
_CAPITALS = str.maketrans({ch: latin for latin, chs in _CAPITAL_LOOKALIKES.items() for ch in chs})
_SMALLS = str.maketrans(
    {
        **{ch: latin for latin, chs in _SMALL_LOOKALIKES.items() for ch in chs},
        "æ": "ae",
        "œ": "oe",
    }
)
_SEQUENCES = (("rn", "m"), ("vv", "w"))


def _ignorable(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _IGNORABLE) or (
        unicodedata.category(ch) in _DROPPED_CATEGORIES
    )


def _strip(text: str) -> str:
    """``text`` without ignorable characters, white space runs as one space, and no more than
    ``_MAX_MARKS`` combining marks in a row (stacks of them spill over the lines around)."""
    kept, marks = [], 0
    for ch in text:
        if _ignorable(ch):
            continue
        if ch.isspace():
            if kept and kept[-1] != " ":
                kept.append(" ")
            marks = 0
            continue
        if unicodedata.category(ch) in {"Mn", "Me"}:
            marks += 1
            if marks > _MAX_MARKS:
                continue
        else:
            marks = 0
        kept.append(ch)
    return "".join(kept).strip()


def normalize(name: str) -> str:
    """The form of a name that is stored and shown (see the module's docstring)."""
    # Ignorables first, so that they do not keep NFKC from composing what they separate.
    return _strip(unicodedata.normalize("NFKC", _strip(name)))


def shown(name: str) -> str:
    """``normalize(name)``, with a fast path for the plain names most comments carry."""
    if name.isascii() and name.isprintable():
        return name
    return normalize(name)


def has_letter(name: str) -> bool:
    """True when the name has a letter that shows (not a modifier letter such as "ˈ")."""
    return any(unicodedata.category(ch) in {"Lu", "Ll", "Lt", "Lo"} for ch in normalize(name))


def _fold(name: str) -> str:
    text = normalize(name).translate(_CAPITALS).casefold()
    text = "".join(
        ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn"
    )
    return text.translate(_SMALLS)


def _key(word: str) -> str:
    for sequence, letter in _SEQUENCES:
        word = word.replace(sequence, letter)
    return word


def skeleton(name: str) -> str:
    """The key under which names that look alike are equal ("Bоss", "B O S S", "ｂｏｓｓ" and
    "boss" share one); "" for a name without letters or digits."""
    return _key("".join(ch for ch in _fold(name) if ch.isalnum()))


def word_skeletons(name: str) -> list[str]:
    """The skeleton of each word of a name ("The Editor": ["the", "edltor"])."""
    words = "".join(ch if ch.isalnum() else " " for ch in _fold(name)).split()
    return [_key(word) for word in words]


def is_reserved(name: str) -> bool:
    """The name, or one of its words, looks like a reserved word (COMMENTS_RESERVED_NAMES)."""
    reserved = {skeleton(word) for word in settings.COMMENTS_RESERVED_NAMES} - {""}
    return skeleton(name) in reserved or any(w in reserved for w in word_skeletons(name))


def looks_like_an_account(name: str) -> bool:
    """The name looks like an existing account's username (one query over all usernames)."""
    key = skeleton(name)
    if not key:
        return False
    User = get_user_model()
    usernames = User.objects.values_list(User.USERNAME_FIELD, flat=True)
    return any(skeleton(username) == key for username in usernames.iterator(chunk_size=2000))


def refusal(name: str) -> str | None:
    """Why ``name`` may not be used, as a sentence for the form; None when it may."""
    name = normalize(name)
    if len(name) > MAX_LENGTH:
        return _("Keep the name to %(limit)d characters or fewer.") % {"limit": MAX_LENGTH}
    if not has_letter(name):
        return NO_LETTER
    if is_reserved(name):
        return RESERVED
    if looks_like_an_account(name):
        return ACCOUNT_NAME
    return None
