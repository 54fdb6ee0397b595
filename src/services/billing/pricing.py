"""Prices a graph from the catalog, before it runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.workflows.catalog import CATALOG
from services.workflows.graph import Graph


@dataclass(frozen=True)
class Quote:
    by_node: dict[str, int]

    @property
    def total_cents(self) -> int:
        return sum(self.by_node.values())


def estimate(graph: Graph, only: Iterable[str] | None = None) -> Quote:
    """Unknown models and invalid params price at zero here; validation reports them."""
    wanted = set(only) if only is not None else None
    by_node: dict[str, int] = {}
    for node in graph.nodes:
        spec = CATALOG.get(node.model_id)
        if spec is None or (wanted is not None and node.id not in wanted):
            continue
        try:
            by_node[node.id] = spec.estimate_cents(node.params)
        except (KeyError, TypeError, ValueError):
            by_node[node.id] = 0
    return Quote(by_node)
