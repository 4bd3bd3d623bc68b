"""A message that people read, kept as its template and values until it is said.

A service, a builder or the mission loader does not know who reads its message, nor in which
language: it makes a `Message` (`M("no case {case}", case=7)`). A `Message` is a `str` whose
text is the English one (so logs, tests and the signed record read it as before), and it keeps
its template and values, so that the edge (a page in the reader's language, the CLI in the
terminal's) says it in another language with `Message.said` (`truceline.i18n.say`).

Templates use `str.format` fields (`{name}`, `{n:,}`, `{value!r}`); a value that is itself a
`Message` is said in the same language. No I/O here: the catalogs are read by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Translations(Protocol):
    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


class Message(str):
    """English text that can be said in another language (see the module's docstring)."""

    template: str
    plural: str | None
    number: int | None  # (the count that chose a plural form; `count` is str's)
    values: Mapping[str, Any]

    def __new__(
        cls,
        template: str,
        /,
        *,
        plural: str | None = None,
        count: int | None = None,
        **values: Any,
    ) -> Message:
        if plural is not None and count is not None:
            values = {"n": count, **values}
            chosen = template if count == 1 else plural
        else:
            chosen = template
        text = chosen.format(**values)  # (a literal brace is written `{{`)
        self = super().__new__(cls, text)
        self.template, self.plural, self.number, self.values = template, plural, count, values
        return self

    def __reduce__(self) -> Any:  # across processes (a feed's worker) with its template
        return (_rebuild, (self.template, self.plural, self.number, dict(self.values)))

    def said(self, tr: Translations) -> str:
        """The message in the language of `tr`; English when its translation cannot be
        filled (a catalog that lost a field says the English, never raises)."""
        values = {k: v.said(tr) if isinstance(v, Message) else v for k, v in self.values.items()}
        if self.plural is not None and self.number is not None:
            text = tr.ngettext(self.template, self.plural, self.number)
        else:
            text = tr.gettext(self.template)
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError, AttributeError):
            return str(self)


def _rebuild(template: str, plural: str | None, count: int | None, values: dict[str, Any]
             ) -> Message:  # fmt: skip
    return Message(template, plural=plural, count=count, **values)


def M(template: str, /, **values: Any) -> Message:
    """A message to say in the reader's language: `M("no case {case}", case=7)`."""
    return Message(template, **values)


def Mn(singular: str, plural: str, n: int, /, **values: Any) -> Message:
    """A message with a number that chooses its form (`{n}` is the number):
    `Mn("{n} event", "{n} events", 3)`."""
    return Message(singular, plural=plural, count=n, **values)


def joined(parts: list[Any], separator: str = "; ") -> Message:
    """Messages joined by a separator, each said in the reader's language."""
    fields = {f"p{i}": part for i, part in enumerate(parts)}
    return Message(separator.join("{" + k + "}" for k in fields), **fields)
