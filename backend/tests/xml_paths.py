"""XPath over lxml elements, its answer typed as the node list the tests read: lxml's stubs type
`xpath()` as the union of every XPath result (a number, a string, a boolean or a list)."""

from __future__ import annotations

from typing import Any


def xpath(node: Any, path: str, namespaces: dict[str, str]) -> list[Any]:
    found = node.xpath(path, namespaces=namespaces)
    assert isinstance(found, list), f"{path} is not a node set: {found!r}"
    return found
