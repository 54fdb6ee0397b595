"""The GraphQL object types, one module per aggregate. Each wraps a service record; nested
fields load through the request's DataLoaders so lists never cost a query per item.

Everything is re-exported here so `from graph.types import Run` keeps working."""

from graph.types.assets import Asset, AssetConnection, AssetKind, StorageMode
from graph.types.common import (
    Connection,
    Info,
    PageEdge,
    PageInfo,
    PortType,
    Role,
    connection,
    parse_id,
)
from graph.types.loras import Lora
from graph.types.models import Model, Port
from graph.types.runs import (
    CostEstimate,
    NodeCost,
    NodeRun,
    NodeStatus,
    Run,
    RunConnection,
    RunEvent,
    RunStatus,
)
from graph.types.viewer import CheckoutSession, CreditBalance, PortalSession, Viewer
from graph.types.workflows import Edge, Node, Workflow, WorkflowConnection

__all__ = [
    "Asset",
    "AssetConnection",
    "AssetKind",
    "CheckoutSession",
    "Connection",
    "CostEstimate",
    "CreditBalance",
    "Edge",
    "Info",
    "Lora",
    "Model",
    "Node",
    "NodeCost",
    "NodeRun",
    "NodeStatus",
    "PageEdge",
    "PageInfo",
    "Port",
    "PortType",
    "PortalSession",
    "Role",
    "Run",
    "RunConnection",
    "RunEvent",
    "RunStatus",
    "StorageMode",
    "Viewer",
    "Workflow",
    "WorkflowConnection",
    "connection",
    "parse_id",
]
