"""CPU cost of one student starting the exam, in one process: landing page, start, first exam page, one save.

The same exam and students as ``exam_load`` (its ``setup_database``), driven through Django's test
client with the students' session cookies, so the figures are the server's work per request without
the network or gunicorn. The first ``--cold`` students warm the caches and are left out of the figures.
``--profile [STEP …]`` adds a cProfile of those steps of the warm students. Usage:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dlcv_bench \\
        .venv/bin/python -m quizzes.bench.start_profile --students 200 --profile page
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time

STEPS = ("landing", "start", "page", "save")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--cold", type=int, default=20, help="first students, left out of the figures (caches warming)")
    parser.add_argument("--lang", default="zh-hant")
    parser.add_argument("--profile", nargs="*", choices=STEPS, default=None,
                        help="cProfile these steps of the warm students (all but save if none is named)")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--unprepared", action="store_true",
                        help="skip preparing the exam's parameterized variants (as the periodic task does)")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database used only for the bench.")
    from quizzes.bench.exam_load import fresh_database, prepare_exam, setup_database

    fresh_database(os.environ["DATABASE_URL"])  # created if missing, like exam_load's
    setup = setup_database(args.students, args.questions)
    if not args.unprepared:
        print(prepare_exam(setup["exam_id"]))  # type: ignore[arg-type]
    import json
    import re
    from http.cookies import SimpleCookie

    from django.test import Client

    cpu: dict[str, list[float]] = {step: [] for step in STEPS}
    wall: dict[str, list[float]] = {step: [] for step in STEPS}
    # CPU time, not wall: the server is CPU-bound at the knee, and waiting on PostgreSQL is not its cost.
    profiler = cProfile.Profile(time.process_time) if args.profile is not None else None
    profiled = set(args.profile or ("landing", "start", "page"))
    landing = f"/courses/{setup['course']}/a/{setup['exam']}/"

    def timed(index: int, step: str, call, *call_args, **call_kwargs):  # type: ignore[no-untyped-def]
        warm = index >= args.cold
        if warm and profiler and step in profiled:
            profiler.enable()
        c0, w0 = time.process_time(), time.perf_counter()
        response = call(*call_args, **call_kwargs)
        c1, w1 = time.process_time(), time.perf_counter()
        if warm and profiler and step in profiled:
            profiler.disable()
        if warm:
            cpu[step].append(c1 - c0)
            wall[step].append(w1 - w0)
        return response

    # One client (one request handler, built once like a server process's), each student's cookies.
    client = Client(HTTP_HOST="127.0.0.1")
    for index, session_key in enumerate(setup["sessions"]):  # type: ignore[arg-type]
        client.cookies = SimpleCookie()
        client.cookies["sessionid"] = session_key
        client.cookies["django_language"] = args.lang
        response = timed(index, "landing", client.get, landing)
        assert response.status_code == 200, response.status_code
        response = timed(index, "start", client.post, landing + "start")
        assert response.status_code == 302, response.status_code
        attempt_url = response["Location"]
        response = timed(index, "page", client.get, attempt_url)
        assert response.status_code == 200, response.status_code
        item_id = re.findall(r'data-item-id="(\d+)"', response.content.decode())[0]
        response = timed(index, "save", client.post, f"{attempt_url.rstrip('/')}/items/{item_id}/save",
                         json.dumps({"response": {"value": "1"}}), content_type="application/json")
        assert response.status_code == 200, response.status_code

    warm = args.students - args.cold
    print(f"{warm} warm students (after {args.cold} cold), {args.questions} questions, lang {args.lang}")
    print(f"{'step':<8} {'CPU ms mean':>12} {'CPU ms p50':>11} {'wall ms mean':>13}")
    for step in STEPS:
        print(f"{step:<8} {statistics.mean(cpu[step]) * 1000:>12.2f} {statistics.median(cpu[step]) * 1000:>11.2f} "
              f"{statistics.mean(wall[step]) * 1000:>13.2f}")
    start_page = [sum(values) for values in zip(cpu["start"], cpu["page"], strict=True)]
    all_three = [sum(values) for values in zip(cpu["landing"], cpu["start"], cpu["page"], strict=True)]
    print(f"start+page CPU ms mean {statistics.mean(start_page) * 1000:.2f}; "
          f"landing+start+page {statistics.mean(all_three) * 1000:.2f}")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
