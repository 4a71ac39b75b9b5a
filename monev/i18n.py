"""User-facing text and number/date formatting, in Bahasa Indonesia (default) or English.

All strings a user reads (problems, CLI lines, report labels) live in one catalogue,
``messages.yaml`` beside this module, keyed by a stable name with one text per language.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGS = ("id", "en")
DEFAULT_LANG = "id"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    text = resources.files("monev").joinpath("messages.yaml").read_text(encoding="utf-8")
    # LibYAML's loader when PyYAML has it (the same data, about 5x faster: the catalogue is read
    # by every command, before any work); else PyYAML's own.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, dict[str, str]] = yaml.load(text, Loader=loader)
    return data


def t(key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """Translate ``key`` into ``lang`` and fill its ``{placeholders}``."""
    entry = catalogue()[key]
    template = entry.get(lang) or entry[DEFAULT_LANG]
    return template.format(**params) if params else template


def fmt_number(
    value: Decimal | Fraction | float | int | None, lang: str = DEFAULT_LANG, places: int = 2
) -> str:
    """An exact value shown with ``places`` decimals, rounded half up (:mod:`monev.rounding`).

    ``Fraction(7333, 77)`` -> ``95,23`` (id) or ``95.23`` (en); None -> an en dash.
    """
    if value is None:
        return "–"
    from babel.numbers import format_decimal

    from monev.rounding import round_half_up

    rounded = round_half_up(value, places)
    locale = "id_ID" if lang == "id" else "en_US"
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(rounded, format=pattern, locale=locale, decimal_quantization=True)


def fmt_date(day: dt.date, lang: str = DEFAULT_LANG) -> str:
    """``13 November 2024`` in both languages' long form."""
    from babel.dates import format_date

    return format_date(day, format="d MMMM y", locale="id_ID" if lang == "id" else "en_GB")


class Detail(str):
    """A parameter that is a library's or the system's own text (an exception's message, an OS
    error): never inside the sentence, shown after it as ``(rincian teknis: …)``. Made by
    :func:`technical`; a problem template does not name it (``monev.problems``)."""


def technical(error: BaseException | str, limit: int = 120) -> Detail:
    """The one way a raw error text reaches a person: ``BadZipFile: File is not a zip file`` (an
    OS error: its ``strerror``), on one line, cut at ``limit`` characters, marked as a detail."""
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    elif isinstance(error, BaseException):
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    else:
        text = error
    text = " ".join(text.split())
    return Detail(text if len(text) <= limit else text[: limit - 1] + "…")
