"""MLflow's search filter syntax: ``name = 'x' AND tags.k LIKE 'v%' AND metrics.acc > 0.9``.

Clauses are joined by ``AND``; a key is an attribute (``name``, ``run_id``...) or
``tags.<key>``, ``params.<key>``, ``metrics.<key>`` (quote odd keys with backticks:
``tags.`my key```); operators are ``= != < <= > >= LIKE ILIKE IN NOT IN``; values are
quoted strings, numbers, or a parenthesised list for ``IN``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from saveur.errors import StoreError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<bq>`[^`]*`)
      | (?P<num>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.\-/:]*\.?)
    )""",
    re.VERBOSE,
)

_KINDS = {"tags": "tag", "tag": "tag", "params": "param", "param": "param",
          "metrics": "metric", "metric": "metric", "attributes": "attribute",
          "attribute": "attribute", "attr": "attribute", "run": "attribute"}


@dataclass(frozen=True)
class Clause:
    """One ``key op value`` comparison; ``kind`` is attribute, tag, param or metric."""

    kind: str
    key: str
    op: str
    value: Any


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise StoreError(
                f"cannot parse filter {text!r} at position {pos} ({text[pos:pos + 10]!r}); "
                "expected e.g. name = 'x' AND tags.k = 'v'"
            )
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _unquote(token: str) -> str:
    quote = token[0]
    return token[1:-1].replace(quote * 2, quote)


def parse_filter(text: str | None) -> list[Clause]:
    """Parse a filter string into clauses (an empty or ``None`` filter matches everything)."""
    if text is None or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0

    def fail(why: str) -> StoreError:
        return StoreError(f"invalid filter {text!r}: {why}")

    while True:
        if i >= len(tokens) or tokens[i][0] not in ("word", "bq", "str"):
            raise fail("expected a key such as name or tags.<key>")
        kind_tok, key_tok = tokens[i]
        i += 1
        if kind_tok == "word" and key_tok.endswith(".") and i < len(tokens) and tokens[i][0] in (
            "bq", "str"
        ):
            prefix, key = key_tok[:-1], _unquote(tokens[i][1])
            i += 1
        elif kind_tok == "word" and "." in key_tok:
            prefix, key = key_tok.split(".", 1)
        else:
            prefix, key = "attributes", key_tok if kind_tok == "word" else _unquote(key_tok)
        kind = _KINDS.get(prefix.lower())
        if kind is None:
            raise fail(f"unknown key prefix {prefix!r}; use tags., params., metrics. or none")
        if i >= len(tokens):
            raise fail(f"missing operator after {key!r}")
        tk, tv = tokens[i]
        i += 1
        if tk == "op":
            op = "!=" if tv == "<>" else tv
        elif tk == "word" and tv.upper() in ("LIKE", "ILIKE", "IN"):
            op = tv.upper()
        elif tk == "word" and tv.upper() == "NOT" and i < len(tokens) and tokens[i][1].upper() == "IN":
            op, i = "NOT IN", i + 1
        else:
            raise fail(f"unknown operator {tv!r} after {key!r}")
        if op in ("IN", "NOT IN"):
            if i >= len(tokens) or tokens[i] != ("punct", "("):
                raise fail(f"{op} needs a parenthesised list of values")
            i += 1
            values: list[Any] = []
            while True:
                if i >= len(tokens) or tokens[i][0] not in ("str", "num"):
                    raise fail(f"expected a value in the {op} list")
                values.append(_value(tokens[i]))
                i += 1
                if i < len(tokens) and tokens[i] == ("punct", ","):
                    i += 1
                    continue
                if i < len(tokens) and tokens[i] == ("punct", ")"):
                    i += 1
                    break
                raise fail(f"unclosed {op} list")
            value: Any = tuple(values)
        else:
            if i >= len(tokens) or tokens[i][0] not in ("str", "num"):
                raise fail(f"expected a quoted string or number after {key!r} {op}")
            value = _value(tokens[i])
            i += 1
        clauses.append(Clause(kind, key, op, value))
        if i >= len(tokens):
            return clauses
        if tokens[i][0] == "word" and tokens[i][1].upper() == "AND":
            i += 1
            continue
        raise fail(f"expected AND, got {tokens[i][1]!r} (OR is not supported)")


def _value(token: tuple[str, str]) -> Any:
    kind, text = token
    if kind == "str":
        return _unquote(text)
    return float(text) if any(c in text for c in ".eE") else int(text)


def compare(column: Any, op: str, value: Any) -> Any:
    """A SQLAlchemy condition ``column <op> value``."""
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        return column.like(value)
    if op == "ILIKE":
        return column.ilike(value)
    if op == "IN":
        return column.in_(list(value))
    if op == "NOT IN":
        return column.not_in(list(value))
    raise StoreError(f"unsupported operator {op!r}")
