"""Rendering the emails and letters: our defaults and a school's own, in a sandbox.

A school's template is text an admin typed into a form, so it is rendered by
`jinja2.sandbox.ImmutableSandboxedEnvironment` with no globals (no `range`, `cycler`,
`lipsum`...), `StrictUndefined` (a misspelt name is an error, not an empty gap) and attribute
access allowed only on the view objects the catalogue hands it (`CaseView`, `School` and its
parts) and on text. It sees only the variables its `Wording` lists: never the deployment
`Settings`, the request, the app or a database row. Output is plain text (no autoescape: it is
never put into HTML unescaped; the preview page escapes it like any other text).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from portal.config import PROJECT_ROOT
from portal.school.services import LetterParagraph, OutOfScope, School
from portal.wording.catalogue import CaseView, Wording
from portal.wording.models import BODY_TEMPLATE_MAX_CHARS, SUBJECT_TEMPLATE_MAX_CHARS

RENDERED_MAX_CHARS = 60_000
SUBJECT_MAX_CHARS = 300
_REPEAT_MAX_CHARS = 10_000
_VIEW_TYPES = (CaseView, School, OutOfScope, LetterParagraph)
# Text methods a template may call ("{{ case.parent_name.upper() }}"); filters do the rest.
_TEXT_METHODS = frozenset(
    {"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith",
     "endswith", "replace", "split"}
)  # fmt: skip
_TEMPLATE_FILE = "<template>"


class WordingEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox: see the module's docstring."""

    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_") or not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, _VIEW_TYPES):
            return not callable(value)
        if isinstance(obj, str):
            return attr in _TEXT_METHODS
        return False

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("powers (**) are not allowed in a template")
        for text, times in ((left, right), (right, left)):
            repeats = isinstance(text, str | list | tuple) and isinstance(times, int)
            if repeats and len(text) * times > _REPEAT_MAX_CHARS:
                raise SecurityError("that repeats the text too many times")
        return super().call_binop(context, operator, left, right)


def _environment(**options: Any) -> WordingEnvironment:
    env = WordingEnvironment(
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **options,
    )
    env.globals.clear()
    return env


SANDBOX = _environment()
DEFAULTS = _environment(loader=FileSystemLoader(str(PROJECT_ROOT / "templates")))


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@dataclass(frozen=True)
class DefaultText:
    """Our own wording for a key, as the school would edit it."""

    subject: str
    body: str


class WordingProblem(ValueError):
    """A school's template that cannot be used: `message` says what and where, for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def default_text(wording: Wording) -> DefaultText:
    """The default template's source, split into subject and body for an email.

    Read once per process and again only when the file changes (the check is one `stat`, as
    Jinja's own template cache does): a parent's submission renders two of them."""
    kept = _DEFAULT_TEXTS.get(wording.template_name)
    if kept is not None and kept[1]():
        return kept[0]
    source, _filename, uptodate = DEFAULTS.loader.get_source(DEFAULTS, wording.template_name)  # type: ignore[union-attr]
    if wording.is_email:
        subject, _blank, body = source.partition("\n\n")
        text = DefaultText(subject=subject.strip(), body=body)
    else:
        text = DefaultText(subject="", body=source)
    _DEFAULT_TEXTS[wording.template_name] = (text, uptodate or (lambda: False))
    return text


_DEFAULT_TEXTS: dict[str, tuple[DefaultText, Callable[[], bool]]] = {}


def render_text(source: str, values: Mapping[str, Any]) -> str:
    """Render a template's source in the sandbox (errors propagate: see `check`)."""
    return _compiled(source).render(values)


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """Compiling a template costs more than the rest of a parent's submission (about 5 ms for
    the acknowledgement): each source is compiled once per process. A template is read-only
    once compiled, and the cache is keyed by its whole text, so an edited override is new."""
    return SANDBOX.from_string(source)


def render_default(wording: Wording, values: Mapping[str, Any]) -> Rendered:
    text = default_text(wording)
    return finish(render_text(text.subject, values), render_text(text.body, values))


def finish(subject: str, body: str) -> Rendered:
    """A subject is one line (an email header: no line breaks); a body loses trailing blank
    lines, and the sender adds its own ending (the school's name and phone, or the case link)."""
    one_line = " ".join(subject.split())
    return Rendered(subject=one_line[:SUBJECT_MAX_CHARS], body=body.rstrip("\n"))


def check(wording: Wording, subject: str, body: str, values: Mapping[str, Any]) -> Rendered:
    """Refuse, with the line and what to do, a template that cannot be used; else render it on
    `values` (the sample case). Checks: the length, the syntax, names the email does not have,
    the private link where the email needs it, and a trial render in the sandbox."""
    parts = [("body", "The body", body)]
    if wording.is_email:
        parts.insert(0, ("subject", "The subject", subject))
        if not subject.strip():
            raise WordingProblem("subject", "Enter the subject")
        if len(subject) > SUBJECT_TEMPLATE_MAX_CHARS:
            raise WordingProblem(
                "subject", f"The subject must be {SUBJECT_TEMPLATE_MAX_CHARS} characters or fewer"
            )
    if not body.strip():
        raise WordingProblem("body", "Enter the text")
    if len(body) > BODY_TEMPLATE_MAX_CHARS:
        raise WordingProblem(
            "body", f"The text must be {BODY_TEMPLATE_MAX_CHARS:,} characters or fewer"
        )
    rendered: dict[str, str] = {}
    for field_name, label, source in parts:
        template = _parse(field_name, label, source, wording)
        rendered[field_name] = _trial(field_name, label, template, values)
    result = finish(rendered.get("subject", ""), rendered["body"])
    if len(result.body) > RENDERED_MAX_CHARS:
        raise WordingProblem("body", "The text comes out too long: make it shorter")
    if wording.needs_private_link and values.get("private_link", "") not in result.body:
        raise WordingProblem(
            "body",
            "The body must keep {{ private_link }}: it is where the parent's private link goes",
        )
    return result


def _parse(field_name: str, label: str, source: str, wording: Wording) -> Template:
    try:
        tree = SANDBOX.parse(source)
    except TemplateSyntaxError as error:
        raise WordingProblem(
            field_name, f"{label}, line {error.lineno}: {_syntax_words(error)}"
        ) from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(wording.variables))
    if unknown:
        name = unknown[0]
        line = next((node.lineno for node in tree.find_all(nodes.Name) if node.name == name), 1)
        allowed = ", ".join(sorted(wording.variables))
        raise WordingProblem(
            field_name,
            f"{label}, line {line}: “{name}” is not something this "
            f"{wording.kind} can use. It can use: {allowed}",
        )
    return SANDBOX.from_string(source)


def _trial(field_name: str, label: str, template: Template, values: Mapping[str, Any]) -> str:
    try:
        return template.render(values)
    except SecurityError as error:
        line = _line_of(sys.exc_info()[2])
        detail = str(error) if "repeats" in str(error) or "powers" in str(error) else ""
        raise WordingProblem(
            field_name,
            f"{label}, line {line}: "
            + (detail or "that reaches inside the portal, which a template may not do")
            + ". Use only the variables listed",
        ) from None
    except UndefinedError as error:
        line = _line_of(sys.exc_info()[2])
        missing = re.search(r"has no attribute '([^']+)'", error.message or "")
        what = f"“{missing.group(1)}” is not known" if missing else "a name is not known"
        raise WordingProblem(
            field_name, f"{label}, line {line}: {what}. Use only the variables listed"
        ) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as error:
        line = _line_of(sys.exc_info()[2])
        raise WordingProblem(
            field_name, f"{label}, line {line}: this cannot be worked out ({error})"
        ) from None


def _line_of(traceback: TracebackType | None) -> int:
    """The template line an error happened on: Jinja rewrites the traceback so the template's
    frames carry its own line numbers."""
    line = 1
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _TEMPLATE_FILE:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _syntax_words(error: TemplateSyntaxError) -> str:
    return f"{error.message}. Check the {{{{ }}}} and {{% %}} marks on that line"
