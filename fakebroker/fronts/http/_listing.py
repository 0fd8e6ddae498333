"""Sorting, filtering, pagination and columns of list answers, as RabbitMQ 3.10.8 does them.

Query parameters of every list endpoint:

- ``sort`` (a field, dotted for nested ones) and ``sort_reverse=true``;
- ``page`` (from 1), ``page_size`` (100 by default, at most 500), ``name`` (a
  case-insensitive substring of the name, or a case-insensitive regular
  expression with ``use_regex=true``): the answer becomes ``{"items": [...],
  "page", "page_size", "page_count", "item_count", "filtered_count",
  "total_count"}``; bad numbers are 400 ``invalid_pagination_parameters``, a
  page past the end 400 ``page_out_of_range``;
- ``columns`` (comma-separated, dotted for nested fields): only those fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._app import ApiError

__all__ = ["listing"]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


def _int(query: Mapping[str, str], key: str) -> int | None:
    text = query.get(key)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, "bad_request", f"{key} must be an integer") from None


def _dotted(item: Any, path: str) -> Any:
    keys = path.split(".")
    for key in keys[:-1]:
        item = item.get(key, {}) if isinstance(item, dict) else {}
    return item.get(keys[-1], 0) if isinstance(item, dict) else 0


def _sort_key(value: Any) -> tuple[int, Any]:
    # Erlang's term order: numbers < atoms < ... < binaries; None and bools as atoms.
    if isinstance(value, bool) or value is None:
        return (1, str(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (3, value.encode())
    return (2, repr(value))


def _columns(item: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns:
        keys = column.split(".")
        if keys[0] not in item:
            continue
        if len(keys) == 1:
            out[keys[0]] = item[keys[0]]
            continue
        source, target = item[keys[0]], out.setdefault(keys[0], {})
        for key in keys[1:-1]:
            source = source.get(key, {}) if isinstance(source, dict) else {}
            target = target.setdefault(key, {})
        if isinstance(source, dict) and keys[-1] in source:
            target[keys[-1]] = source[keys[-1]]
    return out


def _matches(name: str, pattern: str, regex: bool) -> bool:
    if regex:
        try:
            return re.search(pattern, name, re.IGNORECASE) is not None
        except re.error:
            raise ApiError(400, "bad_request", f"invalid regular expression {pattern!r}") from None
    return pattern.lower() in name.lower()


def listing(query: Mapping[str, str], items: list[dict[str, Any]]) -> Any:
    """``items`` sorted, paginated and cut to columns as the query asks."""
    sort = query.get("sort")
    if sort:
        items = sorted(items, key=lambda i: _sort_key(_dotted(i, sort)))
    if query.get("sort_reverse") == "true":
        items = list(reversed(items))
    page, size = _int(query, "page"), _int(query, "page_size")
    columns = [c for c in query.get("columns", "").split(",") if c]
    if page is None:
        return [_columns(i, columns) for i in items] if columns else items
    if page < 1 or (size is not None and not 0 < size <= MAX_PAGE_SIZE):
        shown = "undefined" if size is None else str(size)
        raise ApiError(
            400,
            "invalid_pagination_parameters",
            f"Invalid pagination parameters: page number {page}, page size {shown}",
        )
    size = size or DEFAULT_PAGE_SIZE
    name = query.get("name") or ""
    regex = query.get("use_regex") == "true"
    filtered = [i for i in items if not name or _matches(str(i.get("name", "")), name, regex)]
    offset = (page - 1) * size
    if offset > len(filtered):
        raise ApiError(
            400,
            "page_out_of_range",
            f"Page out of range, page: {page} page size: {size}, len: {len(filtered)}",
        )
    chosen = filtered[offset : offset + size]
    return {
        "filtered_count": len(filtered),
        "item_count": len(chosen),
        "items": [_columns(i, columns) for i in chosen] if columns else chosen,
        "page": page,
        "page_count": (len(filtered) + size - 1) // size,
        "page_size": size,
        "total_count": len(items),
    }
