"""Workflow graphs: the nodes on the grid, the wires between their ports, and the rules a
graph must satisfy before it is saved or run. Every rule names the node or edge it is about."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from services.accounts.viewer import Role
from services.platform.errors import Problem, ProblemList, ValidationFailed
from services.workflows.catalog import CATALOG, ModelSpec, Port, PortType

MAX_NODES = 50
# Each input port takes one wire: a full 50-node graph has far fewer.
MAX_EDGES = 500
MAX_GRID = 1000
# Parameters are flat values and small lists of objects (LoRAs): nothing deeper than this.
MAX_PARAM_DEPTH = 16
NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Parameters that name a gallery asset (a UUID as we write it) or give a URL for an image port.
ASSET_OR_URL = re.compile(
    r"^(https://\S+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)


def check_size(nodes: int, edges: int) -> None:
    """Before anything looks at a graph's contents: the work every later step does grows with
    its size, and estimates, saves and imports all take the same cap."""
    if nodes > MAX_NODES:
        raise ValidationFailed.single(
            "TOO_MANY_NODES", f"A workflow can have at most {MAX_NODES} nodes, not {nodes}"
        )
    if edges > MAX_EDGES:
        raise ValidationFailed.single(
            "TOO_MANY_EDGES", f"A workflow can have at most {MAX_EDGES} wires, not {edges}"
        )


def check_depth(value: Any, *, node_id: str, limit: int = MAX_PARAM_DEPTH) -> None:
    """Refuses JSON nested deeper than `limit` without recursing (a value 100,000 levels deep
    would exhaust Python's stack in any recursive walk: copying, validating, encoding)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, dict | list):
            if depth >= limit:
                raise ValidationFailed.single(
                    "INVALID_PARAMS",
                    f"Node {node_id}: params can be nested at most {limit} levels deep",
                    node_id=node_id,
                    field="params",
                )
            children = current.values() if isinstance(current, dict) else current
            pending.extend((child, depth + 1) for child in children)


class UnreadableGraph(ValidationFailed):
    """A stored graph that is not the shape this API writes (it was written some other way)."""

    def __init__(self) -> None:
        super().__init__(
            [
                Problem(
                    "UNREADABLE_GRAPH",
                    "This workflow's saved graph cannot be read; save it again from the editor"
                    " or delete it",
                )
            ]
        )


@dataclass(frozen=True)
class Node:
    id: str
    model_id: str
    col: int
    row: int
    params: dict[str, Any]


@dataclass(frozen=True)
class Edge:
    source: str
    source_port: str
    target: str
    target_port: str

    def as_json(self) -> dict[str, str]:
        return {
            "source": self.source,
            "sourcePort": self.source_port,
            "target": self.target,
            "targetPort": self.target_port,
        }


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @classmethod
    def from_json(cls, data: Any) -> Graph:
        """A stored graph; UnreadableGraph unless it has exactly the shape `as_json` writes."""
        try:
            nodes, edges = data.get("nodes", []), data.get("edges", [])
            check_size(len(nodes), len(edges))
            graph = cls(
                nodes=tuple(
                    Node(n["id"], n["modelId"], n["col"], n["row"], dict(n["params"]))
                    for n in nodes
                ),
                edges=tuple(
                    Edge(e["source"], e["sourcePort"], e["target"], e["targetPort"]) for e in edges
                ),
            )
            for node in graph.nodes:
                check_depth(node.params, node_id=node.id)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise UnreadableGraph() from exc
        strings = [s for n in graph.nodes for s in (n.id, n.model_id)] + [
            s for e in graph.edges for s in (e.source, e.source_port, e.target, e.target_port)
        ]
        numbers = [x for n in graph.nodes for x in (n.col, n.row)]
        if not all(isinstance(x, str) for x in strings) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in numbers
        ):
            raise UnreadableGraph()
        return graph

    def as_json(self) -> dict[str, Any]:
        return {
            "nodes": [
                {"id": n.id, "modelId": n.model_id, "col": n.col, "row": n.row, "params": n.params}
                for n in self.nodes
            ],
            "edges": [e.as_json() for e in self.edges],
        }

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def incoming(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id]

    def upstream_closure(self, node_ids: Iterable[str]) -> set[str]:
        """The given nodes and every node they need, transitively."""
        needed: set[str] = set()
        pending = deque(node_ids)
        while pending:
            current = pending.popleft()
            if current in needed:
                continue
            needed.add(current)
            pending.extend(e.source for e in self.incoming(current))
        return needed


def validate(graph: Graph, *, role: Role, owned_loras: Mapping[str, str]) -> list[Problem]:
    """Checks what a saved graph must satisfy (known models, good parameters and wires, no
    cycles, size limits) and raises ValidationFailed listing every problem. A graph that is
    merely unfinished is still saved, as a draft: what it lacks is returned as warnings.
    `owned_loras` maps the viewer's LoRA ids to their base models."""
    check_size(len(graph.nodes), len(graph.edges))
    problems = ProblemList()
    nodes = _check_nodes(graph, role, owned_loras, problems)
    _check_edges(graph, nodes, problems)
    # A cycle is reported beside wrongly typed wires (a user fixing one should hear of both).
    _check_acyclic(graph, problems)
    problems.raise_if_any()
    return missing_inputs(graph)


def validate_for_run(
    graph: Graph,
    *,
    role: Role,
    owned_loras: Mapping[str, str],
    only: Iterable[str] | None = None,
) -> None:
    """A graph runs only when it is valid and the nodes to run (all, or `only`) lack nothing;
    the refusal names each node and what it needs, as the save's warnings did."""
    warnings = validate(graph, role=role, owned_loras=owned_loras)
    wanted = set(only) if only is not None else None
    blocking = [w for w in warnings if wanted is None or w.node_id in wanted]
    if blocking:
        raise ValidationFailed(blocking)


def missing_inputs(graph: Graph) -> list[Problem]:
    """What each node still needs before it can run: an input neither wired nor given, or a
    utility node without its value. Nodes with an unknown model are skipped (a saved graph
    has none; an import being checked reports them elsewhere)."""
    wired = {(e.target, e.target_port) for e in graph.edges}
    found: list[Problem] = []
    for node in graph.nodes:
        spec = CATALOG.get(node.model_id)
        if spec is None:
            continue
        if spec.value_param is not None and _empty(node.params.get(spec.value_param)):
            what = "has no image yet" if spec.image_params else "is empty"
            found.append(
                Problem(
                    "MISSING_INPUT",
                    f"{spec.name} node {node.id} {what}",
                    node_id=node.id,
                    field=spec.value_param,
                )
            )
        for port in spec.inputs:
            wired_or_given = (node.id, port.name) in wired or not _empty(node.params.get(port.name))
            if port.required and not wired_or_given:
                found.append(
                    Problem(
                        "MISSING_INPUT",
                        f"{spec.name} node {node.id}: {_missing(port)}",
                        node_id=node.id,
                        field=port.name,
                    )
                )
    return found


def _missing(port: Port) -> str:
    if port.type == PortType.IMAGE:
        return "Image input is not connected"
    if port.type == PortType.TEXT:
        return f"{port.name.replace('_', ' ').capitalize()} is empty"
    return f"{port.name.replace('_', ' ').capitalize()} input is not connected"


def _empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


def _check_nodes(
    graph: Graph, role: Role, owned_loras: Mapping[str, str], problems: ProblemList
) -> dict[str, ModelSpec]:
    specs: dict[str, ModelSpec] = {}
    cells: dict[tuple[int, int], str] = {}
    seen: set[str] = set()
    for node in graph.nodes:
        if not NODE_ID.match(node.id):
            problems.add(
                "INVALID_ID",
                f"Node id {node.id!r} must be 1-64 letters, digits, - or _",
                node_id=node.id,
            )
            continue
        if node.id in seen:
            problems.add("DUPLICATE_ID", f"Two nodes have the id {node.id!r}", node_id=node.id)
            continue
        seen.add(node.id)
        if not (0 <= node.col < MAX_GRID and 0 <= node.row < MAX_GRID):
            problems.add("OUT_OF_GRID", f"Node {node.id} is outside the grid", node_id=node.id)
        elif (node.col, node.row) in cells:
            other = cells[(node.col, node.row)]
            problems.add(
                "CELL_OCCUPIED",
                f"Nodes {other} and {node.id} are both in cell ({node.col}, {node.row})",
                node_id=node.id,
            )
        else:
            cells[(node.col, node.row)] = node.id
        spec = CATALOG.get(node.model_id)
        if spec is None:
            problems.add(
                "UNKNOWN_MODEL",
                f"Node {node.id} uses unknown model {node.model_id!r}",
                node_id=node.id,
            )
            continue
        specs[node.id] = spec
        if not spec.allowed(role):
            problems.add(
                "MODEL_NOT_ALLOWED",
                f"{spec.name} (node {node.id}) needs a Pro plan",
                node_id=node.id,
            )
        _check_params(node, spec, owned_loras, problems)
    return specs


def _check_params(
    node: Node, spec: ModelSpec, owned_loras: Mapping[str, str], problems: ProblemList
) -> None:
    validator = Draft202012Validator(spec.params_schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(node.params), key=lambda e: list(e.path)):
        field = ".".join(str(p) for p in error.path) or None
        where = f"{field}: " if field else ""
        problems.add(
            "INVALID_PARAMS",
            f"Node {node.id}: {where}{error.message}",
            node_id=node.id,
            field=field,
        )
    for name in spec.image_params:
        value = node.params.get(name)
        if isinstance(value, str) and value and not ASSET_OR_URL.match(value):
            problems.add(
                "INVALID_PARAMS",
                f"Node {node.id}: {name} must be an https URL or a gallery asset id",
                node_id=node.id,
                field=name,
            )
    for lora in node.params.get("loras") or []:
        lora_id = lora.get("lora_id") if isinstance(lora, Mapping) else None
        if not isinstance(lora_id, str):
            continue
        base = owned_loras.get(_normal_uuid(lora_id))
        if base is None:
            problems.add(
                "LORA_NOT_OWNED",
                f"Node {node.id} uses a LoRA you do not have",
                node_id=node.id,
                field="loras",
            )
        elif base != spec.lora_base:
            problems.add(
                "LORA_BASE_MISMATCH",
                f"Node {node.id}: a {base} LoRA cannot be used with {spec.name}",
                node_id=node.id,
                field="loras",
            )


def _normal_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def _check_edges(graph: Graph, specs: dict[str, ModelSpec], problems: ProblemList) -> None:
    connected: set[tuple[str, str]] = set()
    for edge in graph.edges:
        where = {"edge": edge.as_json()}
        source, target = specs.get(edge.source), specs.get(edge.target)
        if graph.node(edge.source) is None or graph.node(edge.target) is None:
            problems.add(
                "UNKNOWN_NODE", f"Edge {_describe(edge)} joins a node that does not exist", **where
            )
            continue
        if source is None or target is None:
            continue  # the node's own problem is already reported
        out_port, in_port = source.output(edge.source_port), target.input(edge.target_port)
        if out_port is None or in_port is None:
            missing = edge.source_port if out_port is None else edge.target_port
            problems.add(
                "UNKNOWN_PORT", f"Edge {_describe(edge)}: there is no port {missing!r}", **where
            )
            continue
        if out_port.type != in_port.type:
            problems.add(
                "PORT_TYPE_MISMATCH",
                f"Edge {_describe(edge)} joins {out_port.type.value} to {in_port.type.value}",
                **where,
            )
        if (edge.target, edge.target_port) in connected:
            problems.add(
                "INPUT_ALREADY_CONNECTED",
                f"Input {edge.target}.{edge.target_port} has two wires",
                **where,
            )
        connected.add((edge.target, edge.target_port))


def _check_acyclic(graph: Graph, problems: ProblemList) -> None:
    indegree = {n.id: 0 for n in graph.nodes}
    downstream: dict[str, list[str]] = defaultdict(list)
    # Wires to nodes that do not exist are reported by the edge check.
    for edge in (e for e in graph.edges if e.source in indegree and e.target in indegree):
        indegree[edge.target] += 1
        downstream[edge.source].append(edge.target)
    ready = deque(n for n, d in indegree.items() if d == 0)
    while ready:
        current = ready.popleft()
        for nxt in downstream[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    in_cycle = sorted(n for n, d in indegree.items() if d > 0)
    if in_cycle:
        problems.add(
            "CYCLE", f"These nodes form a cycle: {', '.join(in_cycle)}", node_id=in_cycle[0]
        )


def _describe(edge: Edge) -> str:
    return f"{edge.source}.{edge.source_port} -> {edge.target}.{edge.target_port}"
