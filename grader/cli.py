"""Command line for the grader core (no Django): list families, show a variant, check an answer.

    python -m grader list [--json]
    python -m grader show FAMILY --seed N [--lang en|zh-Hant] [--constraints JSON] [--json]
    python -m grader check FAMILY --seed N --answer JSON [--lang ...] [--constraints JSON] [--reveal] [--json]

``--answer`` is a JSON object (part name → typed text or JSON value), ``-`` for standard input or
``@path`` for a file. Exit codes: 0 shown/graded, 1 unknown family or bad arguments, 2 the answer
has format errors (invalid, no attempt charged; argparse also uses 2 for usage errors).
The ``--json`` shapes are a stable contract documented in ``grader/README.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.i18n import LANGS, gettext_for
from grader.problems import all_families, get_family
from grader.problems.base import ProblemFamily
from grader.results import GradingResult

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


def _dump(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


class UsageError(Exception):
    """Bad command-line input (unknown family, bad constraints, unreadable file): exit code 1."""


class _InvalidJSON(ValueError):
    pass


def _json_arg(text: str, what: str) -> Any:
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise UsageError(f"{what}: cannot read {text[1:]}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _InvalidJSON(f"{what} is not valid JSON: {exc}") from None


def _family_and_params(args: argparse.Namespace) -> tuple[ProblemFamily, dict[str, Any]]:
    try:
        family = get_family(args.family)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    constraints = None
    if args.constraints:
        try:
            constraints = _json_arg(args.constraints, "--constraints")
        except _InvalidJSON as exc:
            raise UsageError(str(exc)) from None
        if not isinstance(constraints, dict):
            raise UsageError("--constraints must be a JSON object")
    try:
        return family, family.generate(args.seed, constraints)
    except ValueError as exc:  # unknown or impossible constraints
        raise UsageError(str(exc)) from None


def cmd_list(args: argparse.Namespace) -> int:
    families = all_families()
    if args.json:
        _dump([f.describe(args.lang) for f in families])
        return EXIT_OK
    for f in families:
        print(f"{f.name}\t{f.title_in(args.lang)}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    family, params = _family_and_params(args)
    answer = family.solve(params)
    statement = family.render(params, args.lang)
    explanation = family.explain(params, args.lang)
    if args.json:
        _dump(
            {
                "family": family.name,
                "seed": args.seed,
                "lang": args.lang,
                "title": family.title_in(args.lang),
                "params": params,
                "parts": [p.to_dict(args.lang) for p in family.parts(params)],
                "statement": statement,
                "answer": answer,
                "answer_text": family.format_answer(params, answer),
                "explanation": explanation,
            }
        )
        return EXIT_OK
    _ = gettext_for(args.lang)
    print(f"# {family.title_in(args.lang)} ({family.name}, seed {args.seed})\n")
    print(statement)
    print("## " + _("Answer") + "\n")
    for name, text in family.format_answer(params, answer).items():
        print(f"{name}:" + ("\n" + text if "\n" in text else " " + text))
    print("\n## " + _("Worked solution") + "\n")
    print(explanation)
    return EXIT_OK


def _check_output(result: GradingResult, args: argparse.Namespace) -> dict[str, Any]:
    """The result as a student may see it (``GradingResult.for_student``), worded in ``--lang``;
    ``valid`` and ``feedback`` repeat ``gradable`` and ``message`` for scripts written against the
    first version of this output."""
    shown = result.for_student(lang=args.lang, reveal=args.reveal)
    return {"family": args.family, "seed": args.seed, "valid": shown["gradable"], "feedback": shown["message"],
            **shown}


def cmd_check(args: argparse.Namespace) -> int:
    family, params = _family_and_params(args)
    try:
        raw = _json_arg(args.answer, "--answer")
    except _InvalidJSON as exc:
        # Unreadable JSON is a format error of the whole answer: invalid, not a usage error.
        result = GradingResult.invalid({"_answer": str(exc)}, str(exc))
    else:
        result = family.check(params, raw)
    shown = _check_output(result, args)
    _ = gettext_for(args.lang)
    if args.json:
        _dump(shown)
    elif not result.gradable:
        print(_("Invalid answer (no attempt counted):"))
        for part, message in shown["format_errors"].items():
            print(f"- {part}: {message}")
    else:
        print(_("Score: %(score).4g (%(points)g/%(max_points)g points)") % shown)
        if result.misconceptions:
            print(_("Misconceptions: %(tags)s") % {"tags": ", ".join(result.misconceptions)})
        print(shown["message"])
    return EXIT_OK if result.gradable else EXIT_INVALID


def cmd_codelabs(args: argparse.Namespace) -> int:
    from grader.codelabs import all_codelabs

    rows = [{"slug": lab.slug, "title": lab.title_in(args.lang), "functions": list(lab.functions),
             "torch": lab.uses_torch, "points": lab.total_points()} for lab in all_codelabs()]
    if args.json:
        _dump(rows)
    else:
        for row in rows:
            print(f"{row['slug']:20} {row['points']:5g} pt  {', '.join(row['functions'])}  — {row['title']}")
    return EXIT_OK


def cmd_codelab_public(args: argparse.Namespace) -> int:
    from grader.codelabs import get_codelab
    from grader.codelabs.public import public_tests_script

    try:
        lab = get_codelab(args.slug)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    sys.stdout.write(public_tests_script(lab))
    return EXIT_OK


def cmd_codelab_run(args: argparse.Namespace) -> int:
    """Grade a file exactly as the grader does: the sandbox, the public and hidden tests."""
    from grader.codelabs import get_codelab
    from grader.codelabs.grade import grade_code
    from grader.sandbox.runner import SandboxUnavailable, make_runner

    try:
        lab = get_codelab(args.slug)
        source = Path(args.file).read_text(encoding="utf-8")
    except (KeyError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(str(exc.args[0] if isinstance(exc, KeyError) else exc)) from None
    try:
        runner = make_runner(allow_unsandboxed=args.unsandboxed)
    except SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None
    try:
        result = grade_code(lab=lab, source=source, seed=args.seed, runner=runner)
    finally:
        runner.close()
    shown = result.for_student(lang=args.lang)
    if args.json:
        _dump({"lab": lab.slug, "seed": args.seed, **shown})
        return EXIT_OK
    for test in shown["tests"]:
        mark = {"passed": "PASS", "failed": "FAIL", "error": "ERR ", "not_run": "----"}[test["status"]]
        hidden = "" if test["public"] else "  " + gettext_for(args.lang)("(hidden)")
        print(f"{mark} {test['points']:g}/{test['max_points']:g}  {test['title']}{hidden}")
        if not test["passed"]:
            print("       " + test["message"].replace("\n", "\n       "))
    if shown["run"]["summary"]:
        print(shown["run"]["summary"])
    print(gettext_for(args.lang)("Score: %(points)g/%(max_points)g (%(seconds).2f s)")
          % {"points": result.points, "max_points": result.max_points,
             "seconds": float(shown["run"]["resources"]["wall_seconds"] or 0)})
    return EXIT_OK if result.score == 1.0 else EXIT_INVALID


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader", description="DLCV grader core: problem families."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, *, variant: bool) -> None:
        p.add_argument("--lang", choices=LANGS, default="en")
        p.add_argument("--json", action="store_true", help="machine-readable output (see grader/README.md)")
        if variant:
            p.add_argument("family")
            p.add_argument("--seed", type=int, required=True)
            p.add_argument("--constraints", help="JSON object of family-specific constraints")

    common(sub.add_parser("list", help="list problem families"), variant=False)
    common(sub.add_parser("show", help="statement, answer and worked solution of a variant"), variant=True)
    check = sub.add_parser("check", help="grade an answer")
    common(check, variant=True)
    check.add_argument("--answer", required=True, help="JSON object part → answer; '-' = stdin, '@file'")
    check.add_argument("--reveal", action="store_true", help="include the expected value of each part")
    common(sub.add_parser("codelabs", help="list coding labs"), variant=False)
    public = sub.add_parser("codelab-public", help="print a coding lab's public_tests.py")
    public.add_argument("slug")
    run = sub.add_parser("codelab-run", help="grade a .py file against a coding lab, in the sandbox")
    common(run, variant=False)
    run.add_argument("slug")
    run.add_argument("file")
    run.add_argument("--seed", type=int, default=0, help="seed of the hidden tests")
    run.add_argument("--unsandboxed", action="store_true",
                     help="without bubblewrap, run in a plain subprocess (your own code only: no isolation)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")  # statements contain Chinese and math symbols
    args = build_parser().parse_args(argv)
    handlers = {"list": cmd_list, "show": cmd_show, "check": cmd_check, "codelabs": cmd_codelabs,
                "codelab-public": cmd_codelab_public, "codelab-run": cmd_codelab_run}
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
