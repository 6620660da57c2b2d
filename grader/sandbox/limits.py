"""Resource limits for one sandboxed job (the whole run: import plus every test)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float = 10.0
    wall_seconds: float = 20.0
    memory_mb: int = 1024  # on top of what the pre-imported libraries already map
    max_processes: int = 16  # processes and threads of the job together
    file_mb: int = 64  # largest file the job may write
    disk_mb: int = 128  # each of its tmpfs mounts (/work, /tmp, /dev/shm)
    output_bytes: int = 64 * 1024  # stdout + stderr kept for the student; more closes the pipe
    result_bytes: int = 64 * 1024 * 1024  # what the functions may return, in total
    # One call may use this share of the CPU and wall budgets: a hanging function loses its own
    # tests (its later calls are skipped), and the other functions are still graded.
    per_call_share: float = 0.5

    def call_budgets(self) -> dict[str, float]:
        return {"call_cpu_seconds": self.cpu_seconds * self.per_call_share,
                "call_wall_seconds": self.wall_seconds * self.per_call_share}

    def for_job(self) -> dict[str, Any]:
        data = asdict(self)
        data["file_bytes"] = self.file_mb * 1024 * 1024
        return data
