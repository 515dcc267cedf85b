"""Rule texts: Jinja2 templates over an event's data, sandboxed, in Russian and English.

A text is written as one template (``"Your request #{{ ticket.number }} is registered"``) or as
a table of variants per locale (``{ en = "…", ru = "…" }``); rendering picks the asked locale
and falls back to the other. Templates are parsed and checked when rules load: a syntax error,
a variable the rule's events do not have, or an attribute starting with ``_`` is an error
then. At render time a value that is missing from the data renders as nothing, however it is
used (``{{ customer.email.lower() }}`` with no email is empty), and the sandbox keeps a template
from reaching Python internals or changing the event's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core.i18n import LOCALES
from core.rules.catalogue import Field, unknown_part
from core.rules.problems import Invalid, shown


class RenderError(Exception):
    """A template failed for a reason other than a missing value (``{{ 1 / 0 }}``)."""


class _Blank(ChainableUndefined):
    """A missing value: renders as nothing, and so does anything taken or called from it."""

    def __call__(self, *args: Any, **kwargs: Any) -> _Blank:
        return self


def _none_as_blank(value: Any) -> Any:
    return "" if value is None else value


_ENV = ImmutableSandboxedEnvironment(
    undefined=_Blank, finalize=_none_as_blank, autoescape=False, keep_trailing_newline=True
)


@dataclass(frozen=True)
class Text:
    """A compiled rule text: its source and template per locale."""

    sources: Mapping[str, str]
    _templates: Mapping[str, Template] = field(repr=False, compare=False)

    def render(self, data: Mapping[str, Any], locale: str) -> str:
        """The text for ``locale`` (else the other locale's) over the event's ``data``."""
        template = self._templates.get(locale) or next(iter(self._templates.values()))
        try:
            return template.render(data)
        except Exception as exc:  # an admin's expression: any failure is theirs to see
            raise RenderError(f"{type(exc).__name__}: {exc}") from exc


def compile_text(raw: object, fields: Mapping[str, Field]) -> Text:
    """Parse and check a text as written in a rule; ``fields`` are what its events offer.

    Raises Invalid saying what was expected, at the locale when one variant is at fault.
    """
    if isinstance(raw, str):
        template = _compile(raw, fields)
        return Text(dict.fromkeys(LOCALES, raw), dict.fromkeys(LOCALES, template))
    if not isinstance(raw, dict) or not raw:
        raise Invalid(f'expected a text or a table {{ en = "…", ru = "…" }}, got {shown(raw)}')
    unknown = [key for key in raw if key not in LOCALES]
    if unknown:
        raise Invalid(f"unknown locale; expected {' or '.join(LOCALES)}", unknown[0])
    ordered = [locale for locale in LOCALES if locale in raw]
    return Text(
        {locale: raw[locale] for locale in ordered},
        {locale: _compile(raw[locale], fields, locale) for locale in ordered},
    )


def _compile(source: object, fields: Mapping[str, Field], *where: str) -> Template:
    if not isinstance(source, str) or not source.strip():
        raise Invalid(f"expected a non-empty text, got {shown(source)}", *where)
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        line = f" (its line {exc.lineno})" if "\n" in source.strip() else ""
        raise Invalid(f"not a valid template{line}: {exc.message or exc}", *where) from None
    try:
        _check_names(tree, fields)
    except Invalid as exc:
        raise Invalid(str(exc), *where) from None
    return _ENV.from_string(tree)


def _check_names(tree: nodes.Template, fields: Mapping[str, Field]) -> None:
    """No attribute may start with ``_``; every variable the template reads from the event
    must be one that all of the rule's events have."""
    free = meta.find_undeclared_variables(tree)
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)):
        key = _key(node)
        if key is not None and key.startswith("_"):
            raise Invalid(f'attribute "{key}" is not allowed in templates')
        path = _path(node)
        if path is None or path[0] not in free:
            continue
        unknown = unknown_part(fields, path)
        if unknown is not None:
            name, options = unknown
            hint = f"; expected one of: {', '.join(options)}" if options else ""
            raise Invalid(f'unknown variable "{name}"{hint}')


def _key(node: nodes.Node) -> str | None:
    """The attribute or constant key a node takes from a value: ``number`` in both
    ``ticket.number`` and ``ticket["number"]``."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value if isinstance(node.arg.value, str) else None
    return None


def _path(node: nodes.Node) -> tuple[str, ...] | None:
    """``ticket.number`` as ("ticket", "number"); None when the chain does not start at a
    name or takes a computed key."""
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr | nodes.Getitem) and (key := _key(node)) is not None:
        head = _path(node.node)
        return None if head is None else (*head, key)
    return None
