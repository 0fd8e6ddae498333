"""Sorting, pagination, name filters and columns of list answers."""

from __future__ import annotations

from .conftest import Api


def _queues(api: Api, query: str) -> object:
    r = api.get(f"/api/queues/{api.v}?{query}")
    return r.status, r.json


def test_sort_columns_and_pages(api: Api) -> None:
    for name in ("b1", "a2", "c3", "a10"):
        api.ok("PUT", f"/api/queues/{api.v}/{name}")
    assert _queues(api, "columns=name") == (
        200,
        [{"name": "a10"}, {"name": "a2"}, {"name": "b1"}, {"name": "c3"}],
    )
    assert _queues(api, "sort=name&sort_reverse=true&columns=name")[1] == [
        {"name": "c3"},
        {"name": "b1"},
        {"name": "a2"},
        {"name": "a10"},
    ]
    assert _queues(api, "columns=name,arguments.x")[1][0] == {"arguments": {}, "name": "a10"}
    assert _queues(api, "page=2&page_size=2&columns=name,vhost") == (
        200,
        {
            "filtered_count": 4,
            "item_count": 2,
            "items": [{"name": "b1", "vhost": api.vhost}, {"name": "c3", "vhost": api.vhost}],
            "page": 2,
            "page_count": 2,
            "page_size": 2,
            "total_count": 4,
        },
    )
    filtered = _queues(api, "page=1&page_size=2&name=A&columns=name")[1]
    assert (filtered["items"], filtered["filtered_count"], filtered["total_count"]) == (
        [{"name": "a10"}, {"name": "a2"}],
        2,
        4,
    )
    regex = _queues(api, "page=1&name=%5Ea1&use_regex=true&columns=name")[1]
    assert (regex["items"], regex["page_size"], regex["page_count"]) == ([{"name": "a10"}], 100, 1)
    assert _queues(api, "page=9&page_size=2") == (
        400,
        {"error": "page_out_of_range", "reason": "Page out of range, page: 9 page size: 2, len: 4"},
    )
    assert _queues(api, "page=0") == (
        400,
        {
            "error": "invalid_pagination_parameters",
            "reason": "Invalid pagination parameters: page number 0, page size undefined",
        },
    )
    assert _queues(api, "page=1&page_size=1000")[1]["reason"] == (
        "Invalid pagination parameters: page number 1, page size 1000"
    )
