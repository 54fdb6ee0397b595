"""Writes schema.graphql from the Strawberry schema: `python -m graph.export_schema`."""

from __future__ import annotations

from pathlib import Path

from graph.schema import export_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def main() -> None:
    SCHEMA_FILE.write_text(export_sdl())
    print(f"wrote {SCHEMA_FILE}")


if __name__ == "__main__":
    main()
