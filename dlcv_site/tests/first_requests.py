"""A fresh web process's first exam requests, as a gunicorn worker serves them after the warm-up.

Run as ``python -m dlcv_site.tests.first_requests COURSE EXAM SESSION:LANGUAGE ...`` (DATABASE_URL
naming a database with that exam and those logged-in students). It imports ``dlcv_site.wsgi`` as
gunicorn does (so the warm-up runs), then each student opens the exam's landing page, starts the
exam, opens the attempt page and autosaves an answer, each request sent through the WSGI handler.
Prints one JSON line per request: its status, the modules it imported and the CPU it took. Work a
request does the first time only (an import: 78 ms for ``redis``) is work the warm-up missed, and
it falls on the first students of an exam, when every worker is busiest.
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
from collections.abc import Iterable
from http.cookies import SimpleCookie
from wsgiref.util import setup_testing_defaults


class Student:
    def __init__(self, application: object, session_key: str, language: str) -> None:
        self.application = application
        self.cookies = {"sessionid": session_key}
        self.language = language

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> tuple[int, dict[str, str], str]:
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "SERVER_NAME": "localhost", "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": content_type, "HTTP_ACCEPT_LANGUAGE": self.language,
            "HTTP_COOKIE": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
        }
        setup_testing_defaults(environ)
        if "csrftoken" in self.cookies:
            environ["HTTP_X_CSRFTOKEN"] = self.cookies["csrftoken"]
        started: dict[str, object] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
            started.update(status=int(status.split()[0]), headers=headers)

        page = b"".join(self.application(environ, start_response)).decode()  # type: ignore[operator]
        headers: dict[str, str] = {}
        for name, value in started["headers"]:  # type: ignore[attr-defined]
            if name.lower() == "set-cookie":
                cookie = SimpleCookie(value)
                self.cookies.update({key: morsel.value for key, morsel in cookie.items()})
            headers[name.lower()] = value
        return started["status"], headers, page  # type: ignore[return-value]


def exam_requests(student: Student, course: str, exam: str) -> Iterable[tuple[str, int]]:
    """A student's first minute of an exam; yields (what, status) after each request."""
    status, _, _ = student.request("GET", f"/courses/{course}/a/{exam}/")
    yield "landing page", status
    status, headers, _ = student.request("POST", f"/courses/{course}/a/{exam}/start")
    yield "POST start", status
    attempt_path = headers.get("location", "")
    status, _, page = student.request("GET", attempt_path)
    yield "attempt page", status
    item_id = re.search(r'data-item-id="(\d+)"', page)
    body = json.dumps({"response": {"value": "1"}}).encode()
    status, _, _ = student.request("POST", f"{attempt_path}items/{item_id.group(1) if item_id else 0}/save", body,
                                   "application/json")
    yield "autosave", status


def main(course: str, exam: str, students: list[str]) -> None:
    from dlcv_site.wsgi import application  # the warm-up runs here, as in gunicorn's master

    for number, spec in enumerate(students):
        session_key, language = spec.split(":", 1)
        student = Student(application, session_key, language)
        requests = exam_requests(student, course, exam)
        while True:
            before, cpu = set(sys.modules), time.process_time()
            try:
                what, status = next(requests)
            except StopIteration:
                break
            print(json.dumps({"student": number, "language": language, "request": what, "status": status,
                              "imported": sorted(set(sys.modules) - before),
                              "cpu_ms": round((time.process_time() - cpu) * 1000, 2)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
