"""Reading integers and codes from the URL and forms: bounded, or a 400 that says what to do.

Every number a request carries reaches the database only through here (or through a form
field with a NumberRange): a value beyond a 32-bit integer overflows SQLite's driver and
PostgreSQL's int4 columns, a non-number (including digits such as "²" that `str.isdigit`
accepts and `int` refuses) and a NUL byte (refused by PostgreSQL in text) would otherwise
end as a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map
from wtforms import Field, Form
from wtforms.validators import ValidationError

#: The largest id, version or count a request may name: PostgreSQL's int4 (SQLite and int8
#: hold more, but no row of this app comes near it).
INT_MAX = 2**31 - 1
#: The last page of a list a URL may ask for.
PAGE_MAX = 10_000
#: Digits beyond this many are never a valid number here: refused before int() reads them.
_MAX_DIGITS = len(str(INT_MAX))

BAD_PARAMETER = _l(
    "The address or the form holds a value that is not valid here. Go back, reload the page "
    "and try again."
)


class BadParameter(BadRequest):
    """A malformed or out-of-range parameter; answered 400 with a message in the user's language."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.parameter = name

    @property
    def message(self) -> str:
        """The message shown on the error page."""
        return str(BAD_PARAMETER)


def parse_int(text: str | None, *, minimum: int = 1, maximum: int = INT_MAX) -> int | None:
    """Return the whole number written in `text` if it lies in bounds, else None.

    Only ASCII digits count (no sign, no "²", no full-width digits): what a form or link of
    the app writes. Surrounding spaces are allowed.
    """
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > _MAX_DIGITS or not (text.isascii() and text.isdecimal()):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def int_param(
    source: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int = 1,
    maximum: int = INT_MAX,
) -> int | None:
    """Read an integer parameter: `default` when absent or empty, 400 when malformed."""
    raw = source.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    value = parse_int(raw, minimum=minimum, maximum=maximum) if isinstance(raw, str) else None
    if value is None:
        raise BadParameter(name)
    return value


def int_list_param(
    source: MultiDict[str, str], name: str, *, minimum: int = 1, maximum: int = INT_MAX
) -> list[int]:
    """Read every value of a repeated integer parameter (checked ids); 400 if one is malformed."""
    values = []
    for raw in source.getlist(name):
        value = parse_int(raw, minimum=minimum, maximum=maximum)
        if value is None:
            raise BadParameter(name)
        values.append(value)
    return values


def choice_param(
    source: Mapping[str, Any], name: str, allowed: Container[str], *, default: str = ""
) -> str:
    """Read a code from a list: `default` when absent or empty, 400 when not in `allowed`."""
    raw = source.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise BadParameter(name)
    return str(raw)


def integer_text(
    *, minimum: int = 0, maximum: int = INT_MAX, message: Any = None
) -> Callable[[Form, Field], None]:
    """A WTForms validator: the field's text is empty or a whole number within the bounds."""

    def validate(_form: Form, field: Field) -> None:
        data = field.data
        if data in (None, ""):
            return
        if parse_int(str(data), minimum=minimum, maximum=maximum) is None:
            raise ValidationError(str(message or BAD_PARAMETER))

    return validate


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` in a route: a number beyond INT_MAX matches no route (404), never the database."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(url_map, *args, **kwargs)


def _has_nul(values: Iterable[str]) -> bool:
    return any("\x00" in value for value in values)


def init_app(app: Flask) -> None:
    """Bound every `<int:…>` of the routes, and refuse NUL bytes in any parameter with 400.

    Called before the areas register their routes: a rule takes its converter when added.
    """
    app.url_map.converters["int"] = BoundedIntegerConverter

    @app.before_request
    def _refuse_nul_bytes() -> None:
        # PostgreSQL refuses NUL in text; no form or link of the app ever sends one.
        if "\x00" in request.path or _has_nul(request.args.keys()):
            raise BadParameter("path")
        for source in (request.args, request.form):
            for key, values in source.lists():
                if "\x00" in key or _has_nul(values):
                    raise BadParameter(key)
