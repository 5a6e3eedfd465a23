"""Text people read (names, titles, file names, descriptions): the one rule of which
characters it may hold, for every service's request schemas, mirrored by the databases'
`is_display_text` check constraints (aws/migrations/013_display_text.sql,
supabase/migrations/20261127120000_display_text.sql).

Refused are the characters that change how text around them displays, or what a terminal,
log line or header does with it, instead of showing as themselves: control characters
(C0 with CR, LF, TAB and ESC; DEL; C1), bidirectional overrides, embeddings, isolates and
marks (`licence\\u202efdp.exe` shows as `licenceexe.pdf`), and the Unicode line and paragraph
separators. Multi-line text may also hold LF and TAB. Zero-width joiners stay: scripts and
emoji need them."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"            # C0 but TAB, LF; DEL; C1
_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_NOT_IN_MULTILINE = re.compile(f"[{_CONTROLS}{_BIDI_AND_SEPARATORS}]")
_NOT_IN_ONE_LINE = re.compile(f"[\t\n{_CONTROLS}{_BIDI_AND_SEPARATORS}]")


def display_text(value: str) -> str:
    """The validator of one-line text (a pydantic AfterValidator)."""
    if _NOT_IN_ONE_LINE.search(value):
        raise ValueError("must not contain control characters, line breaks or bidirectional "
                         "text controls")
    return value


def multiline_text(value: str) -> str:
    """The validator of text that may span lines (a pydantic AfterValidator)."""
    if _NOT_IN_MULTILINE.search(value):
        raise ValueError("must not contain control characters (other than line breaks and "
                         "tabs) or bidirectional text controls")
    return value


# Length limits stay with each field: `title: DisplayText = Field(max_length=200)`, or
# `Annotated[str, StringConstraints(...), AfterValidator(display_text)]` (constraints first).
DisplayText = Annotated[str, AfterValidator(display_text)]
MultilineText = Annotated[str, AfterValidator(multiline_text)]
