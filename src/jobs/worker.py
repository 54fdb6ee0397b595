"""Entry point for `dramatiq jobs.worker`: the broker, then every actor module."""

from jobs import broker as broker
from jobs import maintenance as maintenance
