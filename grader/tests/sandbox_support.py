"""The real bubblewrap sandbox for the tests that need one: started warm, closed after the module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

from conftest import service_missing
from grader.sandbox.runner import SandboxConfig, SandboxRunner, SandboxUnavailable


def open_sandbox(*, torch: bool) -> Iterator[SandboxRunner]:
    """A warm runner (its torch zygote too when ``torch``), for a module-scoped fixture to ``yield from``.
    Without bubblewrap the test is skipped, or fails under REQUIRE_SERVICES=1."""
    if shutil.which("bwrap") is None:
        service_missing("bubblewrap: `bwrap` is not installed (apt-get install bubblewrap)")
    runner = SandboxRunner(SandboxConfig())
    try:
        runner.warm(torch=torch)
    except SandboxUnavailable as exc:
        service_missing(f"bubblewrap cannot start the sandbox here: {exc}")
    yield runner
    runner.close()
