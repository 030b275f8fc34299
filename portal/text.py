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

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

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


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})

ALLOWED_TAGS = {"h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "a", "blockquote", "br"}
_GOVUK_CLASSES = {
    "h2": "govuk-heading-m",
    "h3": "govuk-heading-s",
    "h4": "govuk-heading-s",
    "p": "govuk-body",
    "ul": "govuk-list govuk-list--bullet",
    "ol": "govuk-list govuk-list--number",
    "a": "govuk-link",
}


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML off, then sanitised, then given GOV.UK classes: the one
    renderer for what staff write in Markdown (the online policy, the school's news posts).

    Headings are shifted down one level so the page keeps a single h1; only http, https and
    mailto links survive (a `javascript:` link loses its address).
    """
    html = _markdown.render(text)
    for level in (5, 4, 3, 2, 1):
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>"
        )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )
    for tag, css in _GOVUK_CLASSES.items():
        clean = re.sub(rf"<{tag}(?=[\s>])", f'<{tag} class="{css}"', clean)
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above
