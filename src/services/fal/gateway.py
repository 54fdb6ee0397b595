"""fal.ai through the real `fal-client`: submit once, follow the queue (position, logs,
progress) until the result, cancel. fal-client itself retries 408/409/429 and ingress errors;
what is left becomes one of our typed errors so the node fails cleanly and the worker lives on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import fal_client
import httpx

STEP = re.compile(r"(\d+)\s*/\s*(\d+)")


class FalError(Exception):
    """A node cannot complete on fal; the message is shown to the user."""


class FalValidationError(FalError):
    """fal rejected the inputs (422)."""


class FalModelError(FalError):
    """The model ran and failed."""


class FalDeadlineExceeded(FalError):
    pass


class FalUnavailable(FalError):
    """fal could not be reached or answered with a server error."""


@dataclass(frozen=True)
class FalUpdate:
    status: Literal["QUEUED", "RUNNING"]
    queue_position: int | None = None
    new_logs: list[str] = field(default_factory=list)
    progress: float | None = None


@dataclass(frozen=True)
class Polled:
    update: FalUpdate | None
    logs_seen: int
    done: bool
    error: str | None = None


@dataclass(frozen=True)
class Stopped:
    """What fal had done for a request we stopped: whether it had started running (fal
    bills that), and its result when it had already completed."""

    started: bool
    result: dict[str, Any] | None = None


class FalGateway:
    def __init__(self, key: str) -> None:
        self._client = fal_client.AsyncClient(key=key)

    async def submit(
        self, model_id: str, arguments: dict[str, Any], *, webhook_url: str | None = None
    ) -> str:
        """Queues a request and returns its id; store it before anything else, so a
        restarted worker follows this request instead of paying for a second one."""
        try:
            handle = await self._client.submit(model_id, arguments, webhook_url=webhook_url)
        except (fal_client.client.FalClientError, httpx.HTTPError, OSError) as exc:
            raise _translate(exc) from exc
        return str(handle.request_id)

    async def poll(
        self, model_id: str, request_id: str, logs_seen: int, *, with_logs: bool = True
    ) -> Polled:
        """One look at a request: its progress, or that it finished (then fetch `result`).
        Logs only once it runs: a queued request has none, and they are the heavy part."""
        try:
            handle = await self._client.get_handle(model_id, request_id)
            status = await handle.status(with_logs=with_logs)
        except (fal_client.client.FalClientError, httpx.HTTPError, OSError, KeyError) as exc:
            raise _translate(exc) from exc
        if isinstance(status, fal_client.Completed):
            return Polled(update=None, logs_seen=logs_seen, done=True, error=status.error)
        update, seen = _update(status, logs_seen)
        return Polled(update=update, logs_seen=seen, done=False)

    async def result(self, model_id: str, request_id: str) -> dict[str, Any]:
        """The result of a completed request. One call when it succeeded; only a failed one
        costs a second, for its status, which words the error the way fal reports it."""
        try:
            handle = await self._client.get_handle(model_id, request_id)
            response = await handle.client.get(handle.response_url)
            if response.is_success:
                result: dict[str, Any] = response.json()
                return result
            status = await handle.status()
            if isinstance(status, fal_client.Completed) and status.error:
                raise FalModelError(str(status.error))
            raise _translate_response(response)
        except (fal_client.client.FalClientError, httpx.HTTPError, OSError, KeyError) as exc:
            raise _translate(exc) from exc

    async def _result(self, handle: Any) -> dict[str, Any]:
        response = await handle.client.get(handle.response_url)
        if response.status_code >= 400:
            raise _translate_response(response)
        result: dict[str, Any] = response.json()
        return result

    async def cancel(self, model_id: str, request_id: str) -> None:
        """Idempotent: a request already finished or unknown is simply left alone."""
        try:
            await self._client.cancel(model_id, request_id)
        except fal_client.client.FalClientHTTPError as exc:
            if exc.status_code not in (400, 404):
                raise _translate(exc) from exc
        except httpx.HTTPError as exc:
            raise FalUnavailable(f"fal could not be reached to cancel: {exc}") from exc

    async def stop(self, model_id: str, request_id: str) -> Stopped:
        """Cancels a request and says what fal had done for it by then. A request that
        completed before the cancel landed returns its result, so the work is not lost."""
        try:
            handle = await self._client.get_handle(model_id, request_id)
            status = await handle.status()
            if isinstance(status, fal_client.Completed):
                if status.error:
                    return Stopped(started=True)
                return Stopped(started=True, result=await self._result(handle))
            started = isinstance(status, fal_client.InProgress)
            await self.cancel(model_id, request_id)
            after = await handle.status()
            if isinstance(after, fal_client.Completed) and not after.error:
                return Stopped(started=True, result=await self._result(handle))
            return Stopped(started=started or isinstance(after, fal_client.InProgress))
        except (fal_client.client.FalClientError, httpx.HTTPError, OSError, KeyError) as exc:
            raise _translate(exc) from exc


def _update(status: Any, logs_seen: int) -> tuple[FalUpdate, int]:
    if isinstance(status, fal_client.Queued):
        return FalUpdate("QUEUED", queue_position=status.position), logs_seen
    logs = [str(entry.get("message", "")) for entry in (getattr(status, "logs", None) or [])]
    fresh = logs[logs_seen:]
    return FalUpdate("RUNNING", new_logs=fresh, progress=_progress(logs)), max(logs_seen, len(logs))


def _progress(logs: list[str]) -> float | None:
    for line in reversed(logs):
        match = STEP.search(line)
        if match and int(match[2]) > 0:
            return min(1.0, int(match[1]) / int(match[2]))
    return None


def _translate(exc: Exception) -> FalError:
    if isinstance(exc, fal_client.client.FalClientHTTPError):
        return _from_status(exc.status_code, exc.message)
    if isinstance(exc, httpx.HTTPError | OSError):
        return FalUnavailable(f"fal could not be reached: {exc}")
    return FalUnavailable(f"fal failed unexpectedly: {exc}")


def _translate_response(response: httpx.Response) -> FalError:
    try:
        body = response.json()
        detail = body.get("detail", response.text) if isinstance(body, dict) else response.text
    except ValueError:
        detail = response.text
    return _from_status(response.status_code, detail)


def _from_status(status_code: int, detail: Any) -> FalError:
    message = _describe(detail)
    if status_code == 422:
        return FalValidationError(message)
    if status_code >= 500:
        return FalUnavailable(f"fal is unavailable ({status_code}): {message}")
    return FalModelError(message)


def _describe(detail: Any) -> str:
    """fal's 422 detail is a list of {loc, msg}; make it one readable line."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(
                    f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", ""))
                )
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)
