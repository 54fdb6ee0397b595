"""Stripe's error body, `{"error": {"type", "message", "param", "code"}}`, raised from anywhere
in the server and rendered by the API layer with the status the library maps to its
exception classes (400/404 InvalidRequestError, 401 AuthenticationError, 402 CardError,
429 RateLimitError, 5xx APIError)."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.should_retry = should_retry

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": error}

    def headers(self) -> dict[str, str]:
        if self.should_retry is None:
            return {}
        return {"Stripe-Should-Retry": "true" if self.should_retry else "false"}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, message, param=param, code=code)


def missing(what: str, id: str, param: str = "id") -> StripeError:
    """404 for the object in the path; 400 (same code) for an id passed as a parameter."""
    status = 404 if param == "id" else 400
    return StripeError(status, f"No such {what}: '{id}'", param=param, code="resource_missing")


def required(param: str) -> StripeError:
    return invalid(f"Missing required param: {param}.", param, "parameter_missing")
