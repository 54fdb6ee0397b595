"""Errors a user can act on. Each has a stable code that the API exposes as
`extensions.code`; the client maps codes to messages and actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class LatticeError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.details}


class Unauthenticated(LatticeError):
    code = "UNAUTHENTICATED"


class Forbidden(LatticeError):
    code = "FORBIDDEN"


class Suspended(LatticeError):
    """An admin suspended the account: it may sign in and look, not run, upload or persist."""

    code = "SUSPENDED"

    def __init__(
        self, message: str = "This account is suspended: it cannot run, upload or persist"
    ) -> None:
        super().__init__(message)


class UpgradeRequired(LatticeError):
    code = "UPGRADE_REQUIRED"


class NotFound(LatticeError):
    code = "NOT_FOUND"

    def __init__(self, what: str, id: str) -> None:
        super().__init__(f"{what} {id} was not found", id=id)


class Conflict(LatticeError):
    code = "CONFLICT"


class InsufficientCredits(LatticeError):
    code = "INSUFFICIENT_CREDITS"


class SpendingCapReached(LatticeError):
    code = "SPENDING_CAP_REACHED"


class RateLimited(LatticeError):
    code = "RATE_LIMITED"


class NotAvailable(LatticeError):
    """A feature this deployment does not offer (billing without Stripe keys, say)."""

    code = "NOT_AVAILABLE"


class Unavailable(LatticeError):
    """Temporarily refused: a platform limit or an outside service; try again later."""

    code = "UNAVAILABLE"


@dataclass(frozen=True)
class Problem:
    """One reason an input was rejected, pointing at what it concerns."""

    reason: str
    message: str
    node_id: str | None = None
    edge: dict[str, str] | None = None
    field: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason, "message": self.message}
        if self.node_id is not None:
            out["nodeId"] = self.node_id
        if self.edge is not None:
            out["edge"] = self.edge
        if self.field is not None:
            out["field"] = self.field
        return out


class ValidationFailed(LatticeError):
    code = "VALIDATION_ERROR"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first.message + more, problems=[p.as_json() for p in problems])
        self.problems = problems

    @classmethod
    def single(cls, reason: str, message: str, **where: Any) -> ValidationFailed:
        return cls([Problem(reason, message, **where)])


@dataclass
class ProblemList:
    problems: list[Problem] = field(default_factory=list)

    def add(self, reason: str, message: str, **where: Any) -> None:
        self.problems.append(Problem(reason, message, **where))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)
