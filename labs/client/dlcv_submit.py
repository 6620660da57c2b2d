#!/usr/bin/env python3
"""Submit a DLCV coding lab from the terminal and watch it being graded.

    python dlcv_submit.py my_lab.py
    python dlcv_submit.py --lab conv2d-forward --server https://dlcv.example.edu my_lab.py
    python dlcv_submit.py --json my_lab.py > result.json

Downloaded from a lab's page, the server and the lab are already filled in (DEFAULT_SERVER and
DEFAULT_LAB below); --server/--lab (or DLCV_SERVER) override them.

Authentication, the first one given wins: --token TOKEN, --user NAME (asks for your password
without echoing it and gets your token from the server), or the DLCV_TOKEN environment variable.
Create, copy or revoke your token on the site's "API tokens" page (/accounts/tokens/).

Exit status: 0 every test passed, 1 some tests did not pass, 2 nothing was graded (a syntax
error, a wrong token, the lab is closed, the server cannot be reached ...), 130 interrupted.

One file, Python 3.8+ standard library only: copy it anywhere.
"""

from __future__ import annotations

import argparse
import getpass
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
import uuid

# --- filled in when downloaded from a lab page (labs.client.client_script); keep these two lines as they are
DEFAULT_SERVER = ""  # filled in at download
DEFAULT_LAB = ""  # filled in at download
# --- end of the filled-in lines

VERSION = "1.0"
EXIT_PASSED, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_SOURCE_BYTES = 128 * 1024  # the server's limit (labs.services.MAX_SOURCE_BYTES)
RETRY_DELAYS = (1, 2, 4, 8)  # after a connection error or a 502/503/504, with the same Idempotency-Key
TRANSIENT_STATUSES = (502, 503, 504)
REQUEST_TIMEOUT = 30  # seconds, one HTTP request
DONE = ("graded", "failed")
STATUS_LINES = {
    "queued": "queued: waiting for a grader",
    "running": "running: your code is being tested in the sandbox",
    "graded": "graded",
    "failed": "grading failed",
}
BADGES = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "not_run": "SKIP"}
COLORS = {"passed": "32", "failed": "31", "error": "31", "not_run": "33"}


class ClientError(Exception):
    """Stops the run with exit status 2 and this message."""


class HttpError(Exception):
    """The server answered with an error status (after retries, for the transient ones)."""

    def __init__(self, status: int, data: object, headers: object) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.data = data if isinstance(data, dict) else {}
        self.headers = headers

    @property
    def detail(self) -> str:
        detail = self.data.get("detail")
        return str(detail) if detail else ""

    def retry_after(self) -> str:
        value = self.headers.get("Retry-After") if self.headers is not None else None
        return str(value) if value else ""


# --------------------------------------------------------------------------- HTTP


class Api:
    """JSON over HTTP with urllib; connection errors and 502/503/504 are retried as they were sent."""

    def __init__(self, server: str, token: str = "", *, err: object = None, lang: str = "") -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.err = err or sys.stderr
        self.lang = lang  # the server words its messages and results in it

    def request(self, method: str, path: str, *, body: bytes | None = None, content_type: str = "",
                headers: dict[str, str] | None = None, retries: tuple[float, ...] | None = None) -> dict:
        retries = RETRY_DELAYS if retries is None else retries
        url = self.server + path
        sent = {"Accept": "application/json", "User-Agent": f"dlcv_submit/{VERSION}"}
        if self.lang:
            sent["Accept-Language"] = self.lang
        if self.token:
            sent["Authorization"] = f"Token {self.token}"
        if content_type:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        attempt = 0
        while True:
            try:
                return self._once(method, url, body, sent)
            except HttpError as exc:
                if exc.status not in TRANSIENT_STATUSES or attempt >= len(retries):
                    raise
                problem = f"the server answered HTTP {exc.status}"
            except (TimeoutError, urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError) as exc:
                if attempt >= len(retries):
                    reason = getattr(exc, "reason", None) or exc
                    raise ClientError(f"Cannot reach the server at {self.server}: {reason}.\n"
                                      "Check the address (--server) and your network, then run this again.") from None
                problem = f"cannot reach the server ({getattr(exc, 'reason', None) or exc})"
            delay = retries[attempt]
            attempt += 1
            print(f"  {problem}; trying again in {delay} s ({attempt}/{len(retries)}) ...", file=self.err, flush=True)
            time.sleep(delay)

    def _once(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict:
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read() if exc.fp is not None else b""
            raise HttpError(exc.code, _json(raw), exc.headers) from None
        data = _json(raw)
        if not isinstance(data, dict):
            raise ClientError(f"The server at {self.server} did not answer with JSON: is --server right?")
        return data


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes,
              content_type: str = "text/x-python") -> tuple[bytes, str]:
    """A multipart/form-data body (``fields`` and one file) and its Content-Type header."""
    boundary = "dlcv-" + uuid.uuid4().hex
    while boundary.encode() in content:  # practically never; but the boundary must not occur in the data
        boundary = "dlcv-" + uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                      + value.encode("utf-8") + b"\r\n")
    chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                  f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _safe_filename(path: str) -> str:
    name = os.path.basename(path)
    return name if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}\.py", name) else "submission.py"


# --------------------------------------------------------------------------- the steps


def read_source(path: str) -> bytes:
    """The file's bytes, checked the way the server will check them (so mistakes show at once)."""
    if not path.endswith(".py"):
        raise ClientError(f"{path}: submit a Python file ending in .py.")
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        raise ClientError(f"{path}: no such file.") from None
    except OSError as exc:
        raise ClientError(f"{path}: cannot read it ({exc.strerror or exc}).") from None
    if len(content) > MAX_SOURCE_BYTES:
        raise ClientError(f"{path} is larger than {MAX_SOURCE_BYTES // 1024} KB, the server's limit.")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientError(f"{path} is not UTF-8 text: save it as UTF-8 and try again.") from None
    if not text.strip():
        raise ClientError(f"{path} is empty.")
    return content


def obtain_token(api: Api, username: str, password: str) -> str:
    body = json.dumps({"username": username, "password": password}).encode()
    try:
        data = api.request("POST", "/api/auth/token/", body=body, content_type="application/json")
    except HttpError as exc:
        if exc.status == 400:
            raise ClientError("Wrong username or password.") from None
        raise ClientError(_http_message(exc, api, lab="", step="log in")) from None
    token = data.get("token")
    if not isinstance(token, str) or not token:
        raise ClientError("The server did not return a token.")
    return token


def submit(api: Api, lab: str, path: str, content: bytes, lang: str, key: str) -> dict:
    body, content_type = multipart({"lang": lang}, "file", _safe_filename(path), content)
    try:
        return api.request("POST", f"/api/labs/{lab}/submissions/", body=body, content_type=content_type,
                           headers={"Idempotency-Key": key})
    except HttpError as exc:
        raise ClientError(_http_message(exc, api, lab=lab, step="submit")) from None


def _flatten(errors: object) -> list[str]:
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _flatten(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in _flatten(value)]
    return [str(errors)] if errors not in (None, "") else []


def _http_message(exc: HttpError, api: Api, *, lab: str, step: str) -> str:
    status, detail = exc.status, exc.detail
    if status == 400:
        messages = _flatten(exc.data.get("errors")) or [detail or "the request was not accepted"]
        return "Your file was not accepted (this did not use an attempt):\n" + "\n".join(
            "  " + line for m in messages for line in m.splitlines())
    if status in (401, 403):
        return (f"The server did not accept your login (HTTP {status}{': ' + detail if detail else ''}).\n"
                "Check --token or DLCV_TOKEN (create a new token on the site's API tokens page), "
                "or log in with --user NAME.")
    if status == 404:
        if lab:
            return (f"No lab {lab!r} that you can see on {api.server}: check --lab, and that you are "
                    "enrolled in the lab's course.")
        return f"Not found on {api.server} (HTTP 404): is --server right?"
    if status == 409:
        return f"The server refused the submission: {detail or 'the lab does not accept it now'}"
    if status == 413:
        return f"The file is larger than the server accepts ({MAX_SOURCE_BYTES // 1024} KB)."
    if status == 429:
        wait = exc.retry_after()
        return (f"Too many requests{': ' + detail if detail else ''}. "
                + (f"Try again in {wait} s." if wait else "Wait a minute and try again."))
    if status >= 500:
        return (f"The server had a problem (HTTP {status}) and could not {step}. Try again in a minute; "
                "a retry never counts twice.")
    return f"Could not {step}: HTTP {status}{': ' + detail if detail else ''}."


class Progress:
    """queued → running → graded, with the elapsed seconds: one line redrawn with \\r on a terminal,
    a plain line per change of status otherwise (logs, pipes, CI)."""

    def __init__(self, stream: object, live: bool) -> None:
        self.stream = stream
        self.live = live
        self.last = ""
        self.width = 0

    def show(self, status: str, elapsed: float) -> None:
        text = f"[{elapsed:4.0f} s] {STATUS_LINES.get(status, status)}"
        if self.live:
            pad = max(0, self.width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            self.width = len(text)
        elif status != self.last:
            print(text, file=self.stream, flush=True)
        self.last = status

    def finish(self) -> None:
        if self.live and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


def wait_for_grade(api: Api, submission: dict, progress: Progress, timeout: float) -> dict:
    started = time.monotonic()
    path = f"/api/submissions/{submission['id']}/"
    polls = 0
    while True:
        elapsed = time.monotonic() - started
        progress.show(str(submission.get("status")), elapsed)
        if submission.get("status") in DONE:
            progress.finish()
            return submission
        if elapsed > timeout:
            progress.finish()
            raise ClientError(f"Still not graded after {timeout:.0f} s. It is kept and will be graded: see "
                              f"{api.server}/submissions/{submission['id']}/")
        time.sleep(1.0 if polls < 60 else 2.0)
        polls += 1
        try:
            submission = api.request("GET", path, retries=RETRY_DELAYS * 4)
        except HttpError as exc:
            progress.finish()
            raise ClientError(_http_message(exc, api, lab="", step="get the result")) from None


# --------------------------------------------------------------------------- the report


def _num(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    return f"{round(number, 2):g}"


def _indent(text: str, by: int) -> str:
    return "\n".join(" " * by + line for line in str(text).rstrip("\n").splitlines())


def _tests(submission: dict) -> list[dict]:
    return [t for t in (submission.get("code") or {}).get("tests") or [] if isinstance(t, dict)]


def exit_status(submission: dict) -> int:
    if submission.get("status") != "graded":
        return EXIT_ERROR
    tests = _tests(submission)
    return EXIT_PASSED if tests and all(t.get("passed") for t in tests) else EXIT_FAILED


FAILED_GRADING = ("the grader failed (our fault, not yours). It does not count and used no attempt: "
                  "submit again, and tell your TA if it happens again.")


def report(submission: dict, server: str, out: object, color: bool) -> None:
    """Print the results table, the summary and the captured output."""
    number, lab = submission.get("number"), submission.get("lab")
    if submission.get("status") == "failed":
        print(f"Submission {number} of {lab}: {FAILED_GRADING}", file=out)
        return
    code = submission.get("code") or {}
    tests = _tests(submission)

    def paint(status: str, text: str) -> str:
        return f"\x1b[{COLORS[status]}m{text}\x1b[0m" if color and status in COLORS else text

    print(f"\nSubmission {number} of {lab}: {len(tests)} tests", file=out)
    rows = [(t, f"{_num(t.get('earned'))}/{_num(t.get('points'))}") for t in tests]
    points_width = max([len("Points")] + [len(p) for _t, p in rows])
    print(f"  {'Status':<6} {'Points':<{points_width}}  Test", file=out)
    for test, points in rows:
        status = str(test.get("status") or "error")
        badge = BADGES.get(status, status.upper())
        where = "public" if test.get("public") else "hidden"
        title = str(test.get("title") or test.get("name") or "")
        function = str(test.get("function") or "")
        line = f"  {paint(status, f'{badge:<6}')} {points:<{points_width}}  {where:<6}  {function}: {title}"
        message = str(test.get("message") or "").strip()
        if test.get("passed") and "\n" not in message:  # "Passed." fits on the row
            print(f"{line}  {message}".rstrip(), file=out)
        else:  # what went wrong gets lines of its own
            print(line, file=out)
            if message:
                print(_indent(message, 10), file=out)
        if test.get("traceback"):
            print(_indent(str(test["traceback"]), 12), file=out)
    passed = sum(1 for t in tests if t.get("passed"))
    if code.get("summary"):
        print("\n" + str(code["summary"]), file=out)
    points, max_points, score = submission.get("points"), submission.get("max_points"), submission.get("score")
    print(f"\nPassed {passed} of {len(tests)} tests · {_num(points)} / {_num(max_points)} points", file=out)
    if score is not None and points is not None and abs(float(score) - float(points)) > 1e-9:
        print(f"Score after the lab's attempts and late policies: {_num(score)}", file=out)
    for name in ("stdout", "stderr"):
        text = str(code.get(name) or "")
        if text:
            print(f"\n--- your program's {name} ---\n{text.rstrip()}\n--- end of {name} ---", file=out)
    if code.get("output_truncated"):
        print("(Your program printed more than the grader keeps: the output above is cut.)", file=out)
    resources = code.get("resources") or {}
    if resources:
        print(f"Resources: wall {_num(resources.get('wall_seconds'))} s, CPU {_num(resources.get('cpu_seconds'))} s, "
              f"peak memory {_num(resources.get('max_rss_mb'))} MB", file=out)
    print(f"Details: {server}/submissions/{submission.get('id')}/", file=out)


# --------------------------------------------------------------------------- main


def _default_lang() -> str:
    wanted = os.environ.get("DLCV_LANG") or os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    return "zh-Hant" if wanted.lower().startswith("zh") else "en"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlcv_submit.py", description="Submit a DLCV coding lab and show its grading.",
        epilog="Exit status: 0 all tests passed, 1 some did not, 2 nothing was graded (see the message).",
    )
    parser.add_argument("file", metavar="FILE.py", help="your solution")
    parser.add_argument("--server", default=os.environ.get("DLCV_SERVER") or DEFAULT_SERVER,
                        help=f"the site's address (default: {DEFAULT_SERVER or 'DLCV_SERVER'})")
    parser.add_argument("--lab", default=DEFAULT_LAB, help=f"the lab's slug (default: {DEFAULT_LAB or 'none'})")
    parser.add_argument("--token", default="", help="your API token (default: the DLCV_TOKEN environment variable)")
    parser.add_argument("--user", default="", help="log in as NAME: asks for the password and gets a token")
    parser.add_argument("--lang", choices=("en", "zh-Hant"), default=_default_lang(),
                        help="language of the grader's messages")
    parser.add_argument("--json", action="store_true", help="print the final submission as JSON (progress to stderr)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for grading (default 600)")
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")  # a console that cannot show Chinese gets "?"
        except (AttributeError, ValueError):
            pass
    args = _parser().parse_args(argv)
    out = sys.stderr if args.json else sys.stdout
    try:
        return _run(args, out)
    except ClientError as exc:
        print(f"dlcv_submit: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\nInterrupted. A submission already sent is still graded: see it on the lab's page.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace, out: object) -> int:
    server = (args.server or "").strip().rstrip("/")
    if not server:
        raise ClientError("No server: pass --server URL (or set DLCV_SERVER), or download this file from the lab's page.")
    if not re.match(r"^https?://", server):
        raise ClientError(f"--server must start with http:// or https://, not {server!r}.")
    lab = (args.lab or "").strip()
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", lab):
        raise ClientError("No lab: pass --lab SLUG (the name in the lab page's address), "
                          "or download this file from the lab's page.")
    content = read_source(args.file)
    api = Api(server, err=sys.stderr, lang=args.lang)
    token = args.token
    if not token and args.user:
        password = getpass.getpass(f"Password for {args.user} at {server}: ")
        token = obtain_token(api, args.user, password)
        print("Logged in. Tip: create a token on the site's API tokens page and set DLCV_TOKEN to skip the password.",
              file=sys.stderr)
    token = token or os.environ.get("DLCV_TOKEN", "")
    if not token:
        raise ClientError("Not logged in: pass --token TOKEN, set DLCV_TOKEN, or use --user NAME.")
    api.token = token

    key = str(uuid.uuid4())  # one per run: a retry after a lost connection cannot submit twice
    print(f"Submitting {args.file} to {lab} at {server} ...", file=out, flush=True)
    submission = submit(api, lab, args.file, content, args.lang, key)
    print(f"Submission {submission.get('number')} stored; grading ...", file=out, flush=True)
    live = hasattr(out, "isatty") and out.isatty()
    final = wait_for_grade(api, submission, Progress(out, live), args.timeout)
    if args.json:
        if final.get("status") == "failed":
            print(f"Submission {final.get('number')}: {FAILED_GRADING}", file=sys.stderr)
        print(json.dumps(final, ensure_ascii=False, indent=2))
    else:
        color = live and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb" and (
            os.name != "nt" or "WT_SESSION" in os.environ)
        report(final, server, out, color)
    return exit_status(final)


if __name__ == "__main__":
    sys.exit(main())
