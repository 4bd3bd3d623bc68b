"""Every message a person reads goes through the catalogs: a `Message` keeps its template and
values until the edge says it in the reader's language, and no refusal, row problem or
rejected event of the package is a bare English literal."""

from __future__ import annotations

import ast
import gettext
import pickle
from pathlib import Path

import pytest

from truceline.errors import FieldError, NotFound, Problem, ProblemsError
from truceline.i18n import environment_language, say, translator
from truceline.i18n.message import M, Message, Mn, joined

PACKAGE = Path(__file__).resolve().parents[1] / "truceline"

# Calls whose message argument people read: (name, index of the message argument).
MESSAGE_ARGUMENTS = {
    "TrucelineError": 0, "NotFound": 0, "Conflict": 0, "Forbidden": 0, "Unauthenticated": 0,
    "Throttled": 0, "TooLarge": 0, "FileProblem": 0, "Refused": 0, "ImportRejected": None,
    "FieldError": 1, "Problem": 1, "Rejected": 2, "add": 1, "ProblemsError": 0,
    "MissionError": 0, "ApiError": 2,
}  # fmt: skip


class _Catalog(gettext.NullTranslations):
    """A catalog of two made-up translations (the test does not depend on the .po files)."""

    def gettext(self, message: str) -> str:
        return {"no case {case}": "нет дела {case}", "in {where}: {reason}": "в {where}: {reason}",
                "broken {case}": "сломано {missing}"}.get(message, message)  # fmt: skip

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if singular == "{n} event":
            return "{n} событие" if n % 10 == 1 and n % 100 != 11 else "{n} событий"
        return singular if n == 1 else plural


def test_a_message_is_its_english_text_and_keeps_its_template_and_values() -> None:
    said = M("no case {case}", case=7)
    assert said == "no case 7" and isinstance(said, str)
    assert said.template == "no case {case}" and dict(said.values) == {"case": 7}
    assert M("expected {{json}}") == "expected {json}"


def test_a_message_is_said_in_the_readers_language_with_its_values_and_nested_messages() -> None:
    tr = _Catalog()
    assert M("no case {case}", case=7).said(tr) == "нет дела 7"
    nested = M("in {where}: {reason}", where="obs.csv:3", reason=M("no case {case}", case=2))
    assert nested == "in obs.csv:3: no case 2"
    assert nested.said(tr) == "в obs.csv:3: нет дела 2"
    assert joined([M("no case {case}", case=1), "plain"]).said(tr) == "нет дела 1; plain"


def test_a_count_chooses_the_form_of_its_message_in_each_language() -> None:
    tr = _Catalog()
    assert Mn("{n} event", "{n} events", 1) == "1 event"
    assert Mn("{n} event", "{n} events", 3) == "3 events"
    assert Mn("{n} event", "{n} events", 21).said(tr) == "21 событие"
    assert Mn("{n} event", "{n} events", 5).said(tr) == "5 событий"


def test_a_translation_that_lost_a_field_says_the_english_and_never_raises() -> None:
    assert M("broken {case}", case=3).said(_Catalog()) == "broken 3"


def test_a_message_crosses_to_another_process_with_its_template() -> None:
    again = pickle.loads(pickle.dumps(M("no case {case}", case=M("no case {case}", case=1))))
    assert isinstance(again, Message) and again.template == "no case {case}"
    assert again.said(_Catalog()) == "нет дела нет дела 1"


def test_an_error_is_said_in_the_readers_language_where_its_parts_are_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("truceline.i18n.translator", lambda lang: _Catalog())
    assert NotFound(M("no case {case}", case=4)).said("ru") == "нет дела 4"
    assert str(NotFound(M("no case {case}", case=4))) == "no case 4"
    field = FieldError("case", M("no case {case}", case=5))
    assert field.render(lang="ru") == "case: нет дела 5" and field.render() == "case: no case 5"
    inner = [Problem("x", M("no case {case}", case=8))]
    problems = ProblemsError(M("no case {case}", case=6), inner)
    assert problems.render(lang="ru") == "нет дела 6\n  x: нет дела 8"


def test_the_terminals_language_comes_from_truceline_lang_then_the_locale() -> None:
    assert environment_language({"TRUCELINE_LANG": "tr", "LANG": "ru_RU.UTF-8"}) == "tr"
    assert environment_language({"LANG": "ru_RU.UTF-8"}) == "ru"
    assert environment_language({"LC_ALL": "tr_TR", "LANG": "ru_RU.UTF-8"}) == "tr"
    assert environment_language({"LANG": "de_DE.UTF-8"}) == "en"
    assert environment_language({"LANG": "C.UTF-8"}) == "en"
    assert environment_language({}) == "en"


def test_a_plain_string_is_said_as_it_is() -> None:
    assert say("as typed {x}", "ru") == "as typed {x}" and say(None, "ru") == ""
    assert isinstance(translator("ru"), gettext.NullTranslations)


def _bare(node: ast.expr) -> bool:
    """A literal or an f-string: English that no catalog would ever see."""
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value)
    )


def _messages_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        index = MESSAGE_ARGUMENTS.get(name)
        if index is None or len(node.args) <= index:
            continue
        if name == "add" and not (
            isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "problems"
        ):
            continue
        if _bare(node.args[index]):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_refusal_row_problem_or_rejected_event_of_the_package_is_a_bare_literal() -> None:
    bare = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.parts:
            bare += _messages_in(path)
    assert bare == [], f"{len(bare)} message(s) not made with M(…)/Mn(…): {bare[:10]}"
