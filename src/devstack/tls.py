"""A local certificate authority and a server certificate for loopback, made once with
trustme, so local stand-ins speak real TLS and clients trust them through SSL_CERT_FILE."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class LocalTLS:
    ca: Path
    cert: Path
    key: Path


def ensure_local_tls(directory: Path) -> LocalTLS:
    tls = LocalTLS(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    if tls.ca.exists() and tls.cert.exists() and tls.key.exists():
        return tls
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    server = authority.issue_cert("127.0.0.1", "localhost", "::1")
    # Write the CA last: its presence marks the set as complete for other processes.
    server.private_key_pem.write_to_path(str(tls.key))
    server.cert_chain_pems[0].write_to_path(str(tls.cert))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(tls.cert), append=True)
    authority.cert_pem.write_to_path(str(tls.ca))
    return tls
