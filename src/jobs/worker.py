"""Entry point for `dramatiq jobs.worker`: the broker, then every actor module."""

import logging

import redis

from jobs import billing, maintenance
from jobs import broker as broker
from jobs import execute_node as execute_node

try:
    maintenance.schedule_purge()
    billing.schedule_sweep()
except redis.RedisError:
    # Redis is away at boot: run anyway (the broker reconnects); the next worker to boot,
    # or this one's restart, schedules the periodic jobs.
    logging.getLogger(__name__).warning("could not schedule periodic jobs", exc_info=True)
