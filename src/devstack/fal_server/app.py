"""The queue protocol: submit, status (polled or streamed), result, cancel, and the CDN."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from devstack.fal_server.control import Control, Fault
from devstack.fal_server.models import MODELS, image_dimensions, render_image, render_video
from devstack.fal_server.webhooks import Delivery, Webhooks, payload


@dataclass
class Job:
    id: str
    model: str
    arguments: dict[str, Any]
    state: str = "IN_QUEUE"  # IN_QUEUE -> IN_PROGRESS -> COMPLETED
    logs: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None
    started: float | None = None
    finished: float | None = None
    task: asyncio.Task[None] | None = None
    webhook_url: str | None = None


class FalServer:
    def __init__(
        self, control: Control, base_url: str, cdn: MediaStore, webhooks: Webhooks
    ) -> None:
        self.control = control
        self.webhooks = webhooks
        self.base_url = base_url.rstrip("/")
        self.cdn = cdn
        self.jobs: dict[str, Job] = {}
        self.waiting: list[str] = []
        self.running = 0
        self.changed = asyncio.Condition()

    # -- the lifecycle of one request ---------------------------------------------------
    async def run(self, job: Job) -> None:
        try:
            while self.running >= self.control.concurrency or self.waiting[0] != job.id:
                await self._wait_for_change()
            self.waiting.remove(job.id)
            self.running += 1
            await self._notify()
            job.state, job.started = "IN_PROGRESS", time.time()
            self.control.started[job.model] += 1
            try:
                await self._work(job)
            finally:
                self.running -= 1
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self.waiting.remove(job.id)
            self._complete(job, error="Request cancelled", error_type="cancelled")
            raise
        except Exception as exc:  # a broken input fails the request, never the server
            self._complete(job, error=str(exc) or type(exc).__name__, error_type="internal_error")
        finally:
            await self._notify()

    async def _work(self, job: Job) -> None:
        prompt = str(job.arguments.get("prompt", ""))
        latency = self.control.latency_ms * (5 if "[slow]" in prompt else 1) / 1000
        steps = self.control.steps
        self._log(job, f"Loading {job.model}")
        await self._load_loras(job)
        for step in range(1, steps + 1):
            await asyncio.sleep(latency)
            self._log(job, f"step {step}/{steps}")
            await self._notify()
        if "[fail]" in prompt:
            self._complete(job, error="The model failed on this prompt", error_type="model_error")
            return
        job.result = await self._outputs(job)
        self._complete(job)

    async def _outputs(self, job: Job) -> dict[str, Any]:
        args = job.arguments
        seed = args.get("seed")
        seed = int(seed) if seed is not None else random.randrange(2**31)
        if MODELS[job.model].kind == "image":
            width, height = image_dimensions(args.get("image_size", "landscape_4_3"))
            fmt = args.get("output_format", "jpeg")
            images = []
            for index in range(int(args.get("num_images", 1))):
                data = await asyncio.to_thread(
                    render_image, str(args["prompt"]), seed + index, width, height, fmt
                )
                url = self._store(data, f"image/{fmt}", "png" if fmt == "png" else "jpg")
                images.append(
                    {"url": url, "width": width, "height": height, "content_type": f"image/{fmt}"}
                )
            return {
                "images": images,
                "seed": seed,
                "prompt": args["prompt"],
                "has_nsfw_concepts": [False] * len(images),
                "timings": {"inference": round(time.time() - (job.started or time.time()), 3)},
            }
        source = await self._fetch(str(args["image_url"]))
        data = await asyncio.to_thread(
            render_video,
            source,
            int(args.get("num_frames", 81)),
            int(args.get("frames_per_second", 16)),
            str(args.get("resolution", "720p")),
            str(args.get("aspect_ratio", "auto")),
        )
        name = f"{uuid.uuid4().hex}.mp4"
        url = self._store(data, "video/mp4", "mp4", name=name)
        return {
            "video": {
                "url": url,
                "content_type": "video/mp4",
                "file_name": name,
                "file_size": len(data),
            },
            "prompt": args["prompt"],
            "seed": seed,
        }

    async def _load_loras(self, job: Job) -> None:
        """Like fal, fetches each LoRA before inference, so a URL it could not fetch fails the
        request. Only loopback files can be fetched here (no internet): others are noted."""
        for index, lora in enumerate(job.arguments.get("loras") or []):
            url = str(lora.get("path", ""))
            host = urlsplit(url).hostname
            if host not in ("127.0.0.1", "localhost", "::1"):
                self._log(job, f"LoRA {index + 1} from {host}: not fetched (no internet here)")
                continue
            data = await self._fetch(url)
            length = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
            if not 2 <= length <= len(data) - 8 or data[8:9] != b"{":
                raise ValueError(f"LoRA {index + 1} is not a safetensors file")
            self._log(job, f"Loaded LoRA {index + 1}: {len(data)} bytes of safetensors")

    async def _fetch(self, url: str) -> bytes:
        """Only this server's own files or loopback: there is no internet here."""
        parts = urlsplit(url)
        own = self.cdn.read(url)
        if own is not None:
            return own[0]
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(
                f"image_url host {parts.hostname} is not reachable from the local fal server"
            )
        async with httpx.AsyncClient(verify=False, timeout=30) as http:  # noqa: S501  (loopback only)
            response = await http.get(url)
            response.raise_for_status()
            return response.content

    def _store(
        self, data: bytes, content_type: str, extension: str, name: str | None = None
    ) -> str:
        return self.cdn.write(name or f"{uuid.uuid4().hex}.{extension}", data, content_type)

    def _log(self, job: Job, message: str) -> None:
        job.logs.append(
            {
                "message": message,
                "level": "INFO",
                "source": "user",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
            }
        )

    def _complete(
        self, job: Job, *, error: str | None = None, error_type: str | None = None
    ) -> None:
        if job.state != "COMPLETED":
            job.state, job.error, job.error_type, job.finished = (
                "COMPLETED",
                error,
                error_type,
                time.time(),
            )
            # fal calls back when a request completes, whatever the outcome, but not for
            # one that was cancelled.
            if job.webhook_url and error_type != "cancelled":
                self.webhooks.send(job.webhook_url, job.id, payload(job.id, job.result, error))

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def _wait_for_change(self) -> None:
        async with self.changed:
            await self.changed.wait()

    # -- what clients see -----------------------------------------------------------------
    def urls(self, job: Job) -> dict[str, str]:
        base = f"{self.base_url}/{job.model}/requests/{job.id}"
        return {
            "request_id": job.id,
            "response_url": base,
            "status_url": base + "/status",
            "cancel_url": base + "/cancel",
        }

    def status_body(self, job: Job, with_logs: bool) -> tuple[dict[str, Any], int]:
        body: dict[str, Any] = {**self.urls(job), "status": job.state}
        if job.state == "IN_QUEUE":
            body["queue_position"] = self.waiting.index(job.id) if job.id in self.waiting else 0
            return body, 202
        body["logs"] = job.logs if with_logs else None
        if job.state == "IN_PROGRESS":
            return body, 202
        body["metrics"] = {
            "inference_time": round((job.finished or 0) - (job.started or job.finished or 0), 3)
        }
        if job.error:
            body["error"], body["error_type"] = job.error, job.error_type
        return body, 200


def fault_response(fault: Fault) -> Response:
    if fault.status == 422:
        detail = [
            {"loc": ["body", "prompt"], "msg": "Injected validation error", "type": "value_error"}
        ]
        return JSONResponse({"detail": detail}, 422, headers={"X-Fal-Retryable": "false"})
    if fault.status == 429:
        return JSONResponse(
            {"detail": "Too many concurrent requests"}, 429, headers={"x-fal-request-id": "limited"}
        )
    if fault.status == 502:  # what an ingress failure looks like: no request id, nginx's page
        return HTMLResponse(
            "<html><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></html>", 502
        )
    return JSONResponse(
        {"detail": "Internal server error", "error_type": "internal_server_error"},
        int(fault.status),
        headers={"X-Fal-Error-Type": "internal_server_error", "x-fal-request-id": "failed"},
    )


class MediaStore:
    """fal's CDN stand-in: generated files on disk, served over plain HTTP on loopback so a
    browser shows them without trusting the local CA (the queue API itself is TLS)."""

    def __init__(self, directory: Path, base_url: str) -> None:
        self.directory = directory
        self.base_url = base_url.rstrip("/")
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, data: bytes, content_type: str) -> str:
        (self.directory / name).write_bytes(data)
        (self.directory / f"{name}.type").write_text(content_type)
        return f"{self.base_url}/files/{name}"

    def read(self, url_or_name: str) -> tuple[bytes, str] | None:
        if "/" in url_or_name and not url_or_name.startswith(self.base_url + "/files/"):
            return None
        name = url_or_name.rsplit("/", 1)[-1]
        path = self.directory / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return None
        return path.read_bytes(), (self.directory / f"{name}.type").read_text()

    def app(self) -> Starlette:
        async def files(request: Request) -> Response:
            found = self.read(request.path_params["name"])
            if found is None:
                return JSONResponse({"detail": "File not found"}, 404)
            return Response(
                found[0],
                media_type=found[1],
                headers={
                    "Cache-Control": "public, max-age=604800",
                    "Access-Control-Allow-Origin": "*",
                },
            )

        return Starlette(routes=[Route("/files/{name}", files, methods=["GET"])])


def create_app(control: Control, base_url: str, cdn: MediaStore, webhooks: Webhooks) -> Starlette:
    server = FalServer(control, base_url, cdn, webhooks)

    def authorized(request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme == "Key" and bool(key.strip())

    async def submit(request: Request) -> Response:
        model = request.path_params["path"].strip("/")
        if not authorized(request):
            return JSONResponse({"detail": "Missing or invalid Authorization header"}, 401)
        if model not in MODELS:
            return JSONResponse({"detail": f"Application '{model}' not found"}, 404)
        server.control.submits[model] += 1
        fault = server.control.take_fault("submit", model)
        if fault is not None:
            return fault_response(fault)
        try:
            arguments = await request.json()
        except json.JSONDecodeError:
            return JSONResponse({"detail": "Request body must be JSON"}, 400)
        errors = MODELS[model].validate(arguments)
        if errors:
            return JSONResponse({"detail": errors}, 422, headers={"X-Fal-Retryable": "false"})
        job = Job(
            id=str(uuid.uuid4()),
            model=model,
            arguments=arguments,
            webhook_url=request.query_params.get("fal_webhook"),
        )
        server.jobs[job.id] = job
        stuck_in_queue = server.control.take_fault("queue", model)
        hang = None if stuck_in_queue else server.control.take_fault("status", model)
        if stuck_in_queue is not None:
            pass  # accepted, then never leaves the queue (and holds no one else up)
        elif hang is not None and hang.status == "hang":
            job.state = "IN_PROGRESS"  # accepted, then never finishes
            job.started = time.time()
        else:
            server.waiting.append(job.id)
            job.task = asyncio.create_task(server.run(job))
        body = {
            **server.urls(job),
            "queue_position": len(server.waiting) - 1 if job.id in server.waiting else 0,
        }
        await asyncio.sleep(server.control.submit_delay_ms / 1000)
        return JSONResponse(body, 200, headers={"x-fal-request-id": job.id})

    def find(request: Request) -> Job | None:
        return server.jobs.get(request.path_params["request_id"])

    async def status(request: Request) -> Response:
        job = find(request)
        if job is None:
            return JSONResponse({"detail": "Request not found"}, 404)
        # A fault "on": "poll" breaks status calls (the request itself runs on).
        fault = server.control.take_fault("poll", job.model)
        if fault is not None:
            return fault_response(fault)
        with_logs = request.query_params.get("logs", "false").lower() in ("1", "true")
        body, code = server.status_body(job, with_logs)
        return JSONResponse(body, code, headers={"x-fal-request-id": job.id})

    async def stream(request: Request) -> Response:
        job = find(request)
        if job is None:
            return JSONResponse({"detail": "Request not found"}, 404)
        with_logs = request.query_params.get("logs", "false").lower() in ("1", "true")

        async def events() -> AsyncIterator[str]:
            last = None
            while True:
                body, _ = server.status_body(job, with_logs)
                if body != last:
                    yield f"data: {json.dumps(body)}\n\n"
                    last = body
                if job.state == "COMPLETED":
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(server._wait_for_change(), timeout=1)

        return StreamingResponse(events(), media_type="text/event-stream")

    async def result(request: Request) -> Response:
        job = find(request)
        if job is None:
            return JSONResponse({"detail": "Request not found"}, 404)
        fault = server.control.take_fault("result", job.model)
        if fault is not None:
            return fault_response(fault)
        if job.state != "COMPLETED":
            return JSONResponse({"detail": "Request is still in progress"}, 400)
        if job.error:
            if job.error_type == "cancelled":
                return JSONResponse({"detail": "Request was cancelled"}, 400)
            detail = [
                {
                    "loc": ["body", "prompt"],
                    "msg": job.error,
                    "type": job.error_type or "model_error",
                }
            ]
            return JSONResponse({"detail": detail}, 422, headers={"X-Fal-Retryable": "false"})
        return JSONResponse(job.result, 200, headers={"x-fal-request-id": job.id})

    async def cancel(request: Request) -> Response:
        job = find(request)
        if job is None:
            return JSONResponse({"status": "NOT_FOUND"}, 404)
        server.control.cancels += 1
        if job.state == "COMPLETED":
            return JSONResponse({"status": "ALREADY_COMPLETED"}, 400)
        if job.task is not None:
            job.task.cancel()
        server._complete(job, error="Request cancelled", error_type="cancelled")
        await server._notify()
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, 202)

    def snapshot() -> dict[str, Any]:
        return {**server.control.snapshot(), "webhooks": server.webhooks.delivery.snapshot()}

    async def control_get(request: Request) -> Response:
        return JSONResponse(snapshot())

    async def control_set(request: Request) -> Response:
        body = await request.json()
        server.control.configure(body)
        server.webhooks.delivery.configure(body.get("webhooks", {}))
        await server._notify()
        return JSONResponse(snapshot())

    async def control_reset(request: Request) -> Response:
        server.control = Control()
        server.webhooks.delivery = Delivery()
        await server._notify()
        return JSONResponse(snapshot())

    async def jwks(request: Request) -> Response:
        return JSONResponse(server.webhooks.signer.jwks(), headers={"Cache-Control": "max-age=300"})

    request_path = "/{owner}/{alias:path}/requests/{request_id}"
    return Starlette(
        routes=[
            Route("/_control", control_get, methods=["GET"]),
            Route("/_control", control_set, methods=["POST"]),
            Route("/_control/reset", control_reset, methods=["POST"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            Route(request_path + "/status/stream", stream, methods=["GET"]),
            Route(request_path + "/status", status, methods=["GET"]),
            Route(request_path + "/cancel", cancel, methods=["PUT"]),
            Route(request_path, result, methods=["GET"]),
            Route("/{path:path}", submit, methods=["POST"]),
        ]
    )
