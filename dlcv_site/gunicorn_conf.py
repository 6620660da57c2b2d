"""gunicorn's settings for this site: `make run`, `make web` and the exam-load bench all start it with
``-c python:dlcv_site.gunicorn_conf``. Flags given on the command line (bind, workers, threads) win.
"""

from __future__ import annotations

import os

# The application, with its warm-up (dlcv_site.warmup), is loaded once in the master before it
# forks: every worker starts with the imports, templates and renderings done, and shares them.
preload_app = True

# Each worker touches a heartbeat file on every turn of its main loop, the loop that accepts and
# dispatches connections; on a disk-backed filesystem that call can stall the loop (gunicorn's docs
# for this setting), and /tmp is ext4 here. Timed in every worker over a 2,000-student exam load:
# median 8 µs in /dev/shm against 11 µs in /tmp, 0.9–1.1 s against 1.4–1.8 s in all per worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
