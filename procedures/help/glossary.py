"""The glossary: the terms a clerk may not know, and what each importable field means.

The texts are data (`glossary.json`, beside this module), in Japanese and English. Every page
reads them from here: the `term()` macro beside a label, the glossary page, the help pages
and the import preview's column mapping. The file is checked when it is loaded, so a term
without a text in one language stops the app at start-up rather than showing an empty box.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from importers.schema import FIELDS

GLOSSARY_FILE = Path(__file__).with_name("glossary.json")
LANGUAGES = ("ja", "en")
#: The groups of the glossary page, in its order.
GROUPS = ("import", "procedure", "judgement", "plan")


class GlossaryError(ValueError):
    """The glossary data is incomplete or inconsistent."""


@dataclass(frozen=True, slots=True)
class Term:
    """A term in one language, with its explanation."""

    key: str
    group: str
    term: str
    explanation: str
    #: The term in the other language (the Japanese word an English reader meets in sheets).
    other: str


@dataclass(frozen=True, slots=True)
class FieldDescription:
    """What a field an inventory column may be read as means, and a cell as written."""

    text: str
    example: str


@dataclass(frozen=True, slots=True)
class Glossary:
    """The checked contents of the glossary file."""

    terms: dict[str, dict[str, Any]]
    fields: dict[str, dict[str, dict[str, str]]]
    #: Form field name → the term that labels it.
    form_fields: dict[str, str]


def _texts(where: str, entry: Any, names: tuple[str, ...]) -> list[str]:
    """Return the problems of an entry that must hold every name in every language."""
    problems = []
    for lang in LANGUAGES:
        texts = entry.get(lang) if isinstance(entry, dict) else None
        for name in names:
            value = texts.get(name) if isinstance(texts, dict) else None
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: no {lang} {name}")
    return problems


def check(data: dict[str, Any]) -> Glossary:
    """Check the glossary data and return it; raise GlossaryError naming every problem."""
    problems: list[str] = []
    terms = data.get("terms", {})
    form_fields: dict[str, str] = {}
    for key, entry in terms.items():
        problems += _texts(f"term {key}", entry, ("term", "explanation"))
        if entry.get("group") not in GROUPS:
            problems.append(f"term {key}: group {entry.get('group')!r} is not one of {GROUPS}")
        for name in entry.get("form_fields", []):
            if name in form_fields:
                problems.append(f"form field {name} is labelled by {form_fields[name]} and {key}")
            form_fields[name] = key
    fields = data.get("field_descriptions", {})
    for name in sorted(set(FIELDS) ^ set(fields)):
        problems.append(f"field {name}: " + ("no description" if name in FIELDS else "unknown"))
    for name, entry in fields.items():
        problems += _texts(f"field {name}", entry, ("text", "example"))
    if problems:
        raise GlossaryError("glossary.json: " + "; ".join(problems))
    return Glossary(terms=terms, fields=fields, form_fields=form_fields)


@cache
def load_glossary() -> Glossary:
    """Read and check the glossary file once."""
    return check(json.loads(GLOSSARY_FILE.read_text(encoding="utf-8")))


def _other(lang: str) -> str:
    return LANGUAGES[1] if lang == LANGUAGES[0] else LANGUAGES[0]


def term(key: str, lang: str) -> Term:
    """Return a term in the language; an unknown key is a mistake in a template (KeyError)."""
    entry = load_glossary().terms[key]
    texts = entry[lang]
    return Term(
        key, entry["group"], texts["term"], texts["explanation"], entry[_other(lang)]["term"]
    )


def all_terms(lang: str) -> list[Term]:
    """Return every term in the language, grouped in the order of GROUPS, then as filed."""
    keys = load_glossary().terms
    return sorted((term(key, lang) for key in keys), key=lambda item: GROUPS.index(item.group))


def term_of_field(name: str) -> str | None:
    """Return the key of the term that labels a form field, if one does."""
    return load_glossary().form_fields.get(name)


def field_description(name: str, lang: str) -> FieldDescription:
    """Return what an importable field means, in the language."""
    texts = load_glossary().fields[name][lang]
    return FieldDescription(texts["text"], texts["example"])
