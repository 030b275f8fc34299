"""Text as people send it, made safe to keep: the one place control characters are removed.

`clean_text` is applied to every form field, query parameter and path parameter before any view
sees it (see `portal.inputs.CleanInputRoute`), so nothing else has to remember to do it:

- CR LF and a lone CR become LF, so a textarea's text is the same from every browser;
- tab and LF are kept; every other C0 control (U+0000-U+001F), DEL and the C1 controls
  (U+007F-U+009F) are removed. NUL would make PostgreSQL refuse the row (a 500), and the rest are
  invisible, can break emails and logs, and are never typed on purpose;
- the bidirectional embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069) are
  removed: they can make a line read differently from how it is stored ("Trojan Source"). The
  marks a right-to-left writer does use (U+200E LRM, U+200F RLM, U+061C ALM) are kept, and
  templates show parent-written text isolated (`dir="auto"` or `<bdi>`) so it cannot reorder the
  page around it.

Everything else, including every script and emoji, is kept as typed.
"""

from __future__ import annotations

import re

# Characters removed on input. Tab (U+0009) and LF (U+000A) are missing on purpose.
REMOVED = (
    "\x00-\x08\x0b-\x1f"  # C0 controls except tab and LF (CR is turned into LF first)
    "\x7f-\x9f"  # DEL and the C1 controls
    "\u202a-\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2066-\u2069"  # LRI, RLI, FSI, PDI
)
_REMOVED = re.compile(f"[{REMOVED}]")
_NEWLINES = re.compile(r"\r\n?")


def clean_text(value: str) -> str:
    """`value` with newlines made LF and control and direction characters removed."""
    if not value:
        return value
    return _REMOVED.sub("", _NEWLINES.sub("\n", value))


def is_clean(value: str) -> bool:
    """True when `clean_text` would leave `value` as it is."""
    return clean_text(value) == value
