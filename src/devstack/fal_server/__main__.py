"""`python -m devstack.fal_server --port P --tls-dir DIR`"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from devstack.fal_server.app import create_app
from devstack.fal_server.control import Control
from devstack.tls import ensure_local_tls


def main() -> None:
    parser = argparse.ArgumentParser(
        description="A local server speaking fal's queue protocol over TLS."
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-dir", type=Path, default=Path(".lattice/tls"))
    parser.add_argument("--latency-ms", type=int, default=150, help="time per inference step")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in progress at once")
    args = parser.parse_args()
    tls = ensure_local_tls(args.tls_dir)
    app = create_app(
        Control(latency_ms=args.latency_ms, concurrency=args.concurrency),
        f"https://127.0.0.1:{args.port}",
    )
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        log_level="warning",
    )


if __name__ == "__main__":
    main()
