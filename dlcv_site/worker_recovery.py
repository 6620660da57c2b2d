"""What a grading worker does at start so that a ``kill -9`` loses nothing, with or without beat.

On Redis, kombu emulates acknowledgements: a message a worker has reserved sits in an "unacked" hash
until it is acknowledged, and is put back in its queue once it has been there longer than the
transport's visibility timeout. Celery's default hash is shared by every worker and its timeout is
one hour, so the reservations of a worker killed with ``kill -9`` came back an hour later (or when
beat's sweeper, ``grader.requeue_stuck_submissions``, sent the rows again). Here each worker:

* keeps its reservations in hashes of its own, named after its node name (``-n numeric@host``: one
  live worker per name, as Celery requires), and at start — before it consumes anything — puts back
  every message still in them: they were reserved by an earlier run of this same worker, now dead;
* uses a visibility timeout sized to the longest hard time limit of the tasks on the queues it
  consumes (``settings.QUEUE_LONGEST_TASK_SECONDS``: on the default queue an LMS roster sync, not a
  grading) plus a margin, so a message is never put back while its task may still be running;
* checks its hashes every ``RESTORE_INTERVAL`` seconds, not every 100.

A message put back and delivered again takes over the claim its earlier run left on the submission
(``labs.services.grading``: a claim records the message's task id), so the submission is graded
exactly once. A pool child killed alone is handled by Celery itself (``reject_on_worker_lost``: the
message goes straight back to its queue) and the same takeover. What a worker that never comes back
under the same name held is found by beat's sweeper, from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

#: Seconds added to a queue's hard time limit: the worker needs a moment to kill an overrunning task
#: and acknowledge its message.
VISIBILITY_MARGIN = 30
#: Seconds between a worker's checks of its own reservations for ones past the visibility timeout.
RESTORE_INTERVAL = 10


def visibility_timeout_for(queues: Iterable[str], time_limits: Mapping[str, int]) -> int:
    """The visibility timeout for a worker consuming ``queues``: the longest hard time limit among
    them (a queue with no limit of its own counts as the longest there is) plus the margin."""
    longest = max(time_limits.values())
    return max(time_limits.get(queue, longest) for queue in queues) + VISIBILITY_MARGIN


def broker_options_for_worker(
    *, nodename: str, queues: Iterable[str], time_limits: Mapping[str, int], base: Mapping[str, Any]
) -> dict[str, Any]:
    """The Redis transport options of the worker ``nodename`` consuming ``queues``."""
    return {
        **base,
        "visibility_timeout": visibility_timeout_for(queues, time_limits),
        "unacked_key": f"unacked:{nodename}",
        "unacked_index_key": f"unacked_index:{nodename}",
        "unacked_mutex_key": f"unacked_mutex:{nodename}",
        "unacked_restore_interval": RESTORE_INTERVAL,
        "unacked_restore_throttle": 1,
    }


def worker_queues(option: object, default_queue: str) -> list[str]:
    """The queue names a worker was started with (``-Q a,b``, a list, or nothing: the default)."""
    if not option:
        return [default_queue]
    if isinstance(option, str):
        return [name.strip() for name in option.split(",") if name.strip()]
    return [str(name) for name in option]  # type: ignore[attr-defined]


def restore_earlier_reservations(app: Any) -> int:
    """Put back in their queues the messages this worker's earlier run had reserved and never
    acknowledged (its hashes are its own: nothing in them belongs to a live worker). Returns how
    many; call it before the worker consumes."""
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as client:
            tags = list(client.hkeys(channel.unacked_key))
            for tag in tags:
                # leftmost: they were taken before anything now waiting, so they go first again.
                channel.qos.restore_by_tag(tag, client, leftmost=True)
    if tags:
        logger.warning("put back %d messages reserved by this worker's earlier run (%s)", len(tags),
                       channel.unacked_key)
    return len(tags)
