"""Entry point for `dramatiq jobs.worker`: the broker, then every actor module."""

from jobs import billing, maintenance
from jobs import broker as broker
from jobs import execute_node as execute_node

maintenance.schedule_purge()
billing.schedule_sweep()
