"""Entry point for `dramatiq jobs.worker`: the broker, then every actor module."""

from jobs import broker as broker
from jobs import execute_node as execute_node
from jobs import maintenance

maintenance.schedule_purge()
