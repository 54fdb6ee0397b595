"""`python -m devstack.fal_server --port P --cdn-port C [--tls-dir DIR] [--files-dir DIR]`"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import uvicorn

from devstack.fal_server.app import MediaStore, create_app
from devstack.fal_server.control import Control
from devstack.fal_server.webhooks import Delivery, Webhooks, WebhookSigner
from devstack.tls import ensure_local_tls


def main() -> None:
    parser = argparse.ArgumentParser(
        description="A local server speaking fal's queue protocol over TLS."
    )
    parser.add_argument("--port", type=int, required=True, help="TLS port of the queue API")
    parser.add_argument(
        "--cdn-port", type=int, required=True, help="plain-HTTP port serving generated media"
    )
    parser.add_argument("--tls-dir", type=Path, default=Path(".lattice/tls"))
    parser.add_argument("--files-dir", type=Path, default=Path(".lattice/fal-files"))
    parser.add_argument("--latency-ms", type=int, default=150, help="time per inference step")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in progress at once")
    args = parser.parse_args()
    tls = ensure_local_tls(args.tls_dir)
    cdn = MediaStore(args.files_dir, f"http://127.0.0.1:{args.cdn_port}")
    control = Control(latency_ms=args.latency_ms, concurrency=args.concurrency)
    # The signing key lives beside the TLS files, so the JWKS the app cached stays valid.
    webhooks = Webhooks(WebhookSigner(args.tls_dir / "fal-webhook-key.pem"), Delivery())
    queue = create_app(control, f"https://127.0.0.1:{args.port}", cdn, webhooks)
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                queue,
                host="127.0.0.1",
                port=args.port,
                ssl_certfile=str(tls.cert),
                ssl_keyfile=str(tls.key),
                log_level="warning",
            )
        ),
        uvicorn.Server(
            uvicorn.Config(cdn.app(), host="127.0.0.1", port=args.cdn_port, log_level="warning")
        ),
    ]
    asyncio.run(_serve(servers))


async def _serve(servers: list[uvicorn.Server]) -> None:
    await asyncio.gather(*(server.serve() for server in servers))


if __name__ == "__main__":
    main()
