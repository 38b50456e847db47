"""Lists imported from a file (审管联动 list, implementation list, credit list): JSON or CSV, one way to read them.

A CSV header may name each column by its code or by the Chinese heading offices write in their spreadsheets
(``headings``: code -> the Chinese headings read as that code); the rows come back keyed by the codes.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Mapping, Sequence

from .errors import ValidationError


def heading_codes(headings: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Every heading a column may have (its code and its Chinese headings) -> its code."""
    return {h: code for code, words in headings.items() for h in (code, *words)}


def csv_reader(text: str, headings: Mapping[str, Sequence[str]] | None = None) -> csv.DictReader:
    """A ``DictReader`` over ``text`` (a leading BOM dropped) whose field names are the columns' codes."""
    reader = csv.DictReader(io.StringIO((text or "").lstrip("\ufeff")))
    codes = heading_codes(headings or {})
    reader.fieldnames = [codes.get(h.strip(), h.strip()) for h in reader.fieldnames or []]
    return reader


def read_rows(text: str, fmt: str, what: str, headings: Mapping[str, Sequence[str]] | None = None,
              **refusal: Any) -> list[Any]:
    """The rows of a list file: a JSON list (or one object) or a CSV table; ``what`` names the list in refusals,
    ``refusal`` (e.g. ``refusal="bad_file"``) is added to a refusal's details."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"the {what} is not valid JSON: {exc}", **refusal) from exc
        return data if isinstance(data, list) else [data]
    if fmt == "csv":
        return [{k: v for k, v in row.items() if k} for row in csv_reader(text, headings)]
    raise ValidationError("format is json or csv", **({"refusal": "one_of", "field": "format"} if refusal else {}))
