"""Markdown + LaTeX → HTML/MathML rendering (quizzes.bank.render)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.problems import all_families
from quizzes.bank import render
from quizzes.bank.render import MathError, latex_to_mathml, math_errors, render_markdown

MATH_INLINE = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"'
MATH_BLOCK = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"'


def test_inline_math_becomes_mathml() -> None:
    out = render_markdown("輸出大小為 $\\lfloor \\frac{n+2p-k}{s} \\rfloor + 1$。")
    assert out.startswith("<p>輸出大小為 " + MATH_INLINE)
    assert "<mfrac>" in out and "&#x0230A;" in out and "&#x0230B;" in out
    assert out.endswith("</math>。</p>\n")
    assert "$" not in out


def test_display_math_block_is_block_mathml() -> None:
    out = render_markdown("前文\n\n$$\n\\begin{bmatrix}\n1 & 2 \\\\\n3 & 4\n\\end{bmatrix}\n$$\n\n後文")
    assert out.count(MATH_BLOCK) == 1
    assert out.count("<mtr>") == 2 and out.count("<mtd>") == 4
    assert "<p>前文</p>" in out and "<p>後文</p>" in out


def test_display_math_inside_a_paragraph_and_on_one_line() -> None:
    assert MATH_BLOCK in render_markdown("所以 $$\\sum_{i=1}^{n} x_i$$ 成立")
    out = render_markdown("text\n$$\\begin{pmatrix}a\\\\b\\end{pmatrix}$$\nmore")
    assert MATH_BLOCK in out and "&#x00028;" in out and "<p>more</p>" in out


def test_underscores_asterisks_and_backslashes_in_math_survive_markdown() -> None:
    out = render_markdown("$a_1 * b_2$ and $x_{i}^{2} \\times y_i$ and $c*d*e$")
    assert "<em>" not in out and "<strong>" not in out
    assert out.count("<msub>") == 3 and "<msubsup>" in out and "&#x000D7;" in out
    assert out.count("&#x0002A;") == 3  # every * stayed a multiplication sign
    # Markdown would eat "\\" (a matrix row break) as an escape outside math.
    out = render_markdown("$\\begin{bmatrix}1\\\\2\\end{bmatrix}$")
    assert out.count("<mtr>") == 2


def test_escaped_dollar_is_literal_and_prices_are_not_math() -> None:
    assert render_markdown("costs \\$5 each") == "<p>costs $5 each</p>\n"
    assert render_markdown("between $5 and $10") == "<p>between $5 and $10</p>\n"
    assert "<math" not in render_markdown("`$x$` is code")


def test_chinese_text_around_math() -> None:
    out = render_markdown("若步幅為$s=2$，則特徵圖縮小為$\\frac{1}{2}$倍。")
    assert out.startswith("<p>若步幅為" + MATH_INLINE)
    assert "</math>，則特徵圖縮小為" + MATH_INLINE in out
    assert out.endswith("</math>倍。</p>\n")


def test_raw_html_and_script_are_escaped() -> None:
    out = render_markdown('<script>alert(1)</script>\n\n<img src=x onerror="alert(1)"> [x](javascript:alert(1))')
    assert "<script" not in out and "<img" not in out and 'href="javascript' not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


@pytest.mark.parametrize(
    "latex",
    ["\\text{<script>alert(1)</script>}", "\\href{javascript:alert(1)}{x}", "\\style{background:url(x)}{x}",
     "\\class{evil}{x}", "\\mbox{<b onclick=x>}"],
)
def test_math_cannot_inject_markup(latex: str) -> None:
    out = render_markdown(f"${latex}$")
    assert "<script" not in out and "<b" not in out
    tags = _tags(out)
    assert {tag for tag, _ in tags} <= {"p", "code", "math", "mrow", "mtext", "mi", "mo", "mstyle"}, tags
    attributes = [(tag, name, value) for tag, attrs in tags for name, value in attrs]
    assert not [a for a in attributes if re.fullmatch(r"href|style|on\w+", a[1])
                or (a[1] == "class" and a[2] != "math-error")], attributes


def _tags(html_text: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Each start tag of ``html_text`` with its attributes, as a browser's parser reads them."""
    tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, attrs))

    parser = Tags()
    parser.feed(html_text)
    parser.close()
    return tags


def test_a_formula_is_named_by_its_tex_source_and_a_display_formula_takes_the_focus() -> None:
    """Chromium names a ``<math>`` by its aria-label only: a choice made of maths needs it (issue 21)."""
    inline = render_markdown("tanh 的輸出介於 $-1$ 與 $x < 1$ 之間")
    assert [dict(attrs).get("aria-label") for tag, attrs in _tags(inline) if tag == "math"] == ["-1", "x < 1"]
    assert "tabindex" not in inline  # inline maths does not scroll: no extra tab stop
    block = _tags(render_markdown("$$\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}$$"))
    assert [dict(attrs) for tag, attrs in block if tag == "math"] == [{
        "xmlns": "http://www.w3.org/1998/Math/MathML", "display": "block",
        "aria-label": "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", "tabindex": "0"}]


@pytest.mark.parametrize(
    ("latex", "reason"),
    [("\\frac{1}{2", "unbalanced braces"), ("a}", "unbalanced braces"), ("\\notacommand{x}", "unsupported LaTeX command")],
)
def test_bad_latex_falls_back_to_source(latex: str, reason: str) -> None:
    out = render_markdown(f"前 ${latex}$ 後")
    match = re.search(r'<code class="math-error" title="([^"]*)">([^<]*)</code>', out)
    assert match, out
    assert reason in match.group(1)
    assert match.group(2) == "$" + latex.replace("<", "&lt;") + "$"
    assert out.startswith("<p>前 ") and out.endswith(" 後</p>\n")
    with pytest.raises(MathError):
        latex_to_mathml(latex)


def test_bad_display_latex_falls_back_too() -> None:
    out = render_markdown("$$\n\\frac{a\n$$")
    assert out.startswith('<code class="math-error"') and "$$\\frac{a$$" in out


def test_latex_to_mathml_supports_the_course_notation() -> None:
    for latex, expected in [
        ("\\frac{a}{b}", "<mfrac>"),
        ("\\sum_{i=1}^{n} i", "&#x02211;"),
        ("\\lfloor x \\rfloor", "&#x0230A;"),
        ("a \\times b", "&#x000D7;"),
        ("x_i^2", "<msubsup>"),
        ("\\begin{bmatrix}1&0\\\\0&1\\end{bmatrix}", "<mtable>"),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "<mtable>"),
        ("\\arg\\max_x f(x)", "<mo>arg</mo>"),  # \\arg is rewritten: latex2mathml lacks it
    ]:
        assert expected in latex_to_mathml(latex), latex
    assert 'display="block"' in latex_to_mathml("x", display=True)


@pytest.mark.parametrize("kind", ["info", "warning", "success", "danger"])
def test_admonition_blocks(kind: str) -> None:
    out = render_markdown(f":::{kind}\n**同學 A** 的答案：$x_1$\n\n- 一\n- 二\n:::\n\n之後")
    assert out.startswith(f'<div class="admonition {kind}">\n<p><strong>同學 A</strong> 的答案：{MATH_INLINE}')
    assert "<ul>\n<li>一</li>\n<li>二</li>\n</ul>\n</div>\n<p>之後</p>" in out


def test_admonition_title_nesting_and_unknown_names() -> None:
    out = render_markdown("::: info 104 學年期末\nouter\n:::danger\ninner\n:::\nafter\n:::\nout")
    assert out == (
        '<div class="admonition info">\n<p class="admonition-title">104 學年期末</p>\n<p>outer</p>\n'
        '<div class="admonition danger">\n<p>inner</p>\n</div>\n<p>after</p>\n</div>\n<p>out</p>\n'
    )
    assert "admonition" not in render_markdown(":::spoiler\nx\n:::")
    assert "&lt;b&gt;" in render_markdown(":::info <b>title</b>\nx\n:::")


def test_tables_and_math_in_cells() -> None:
    out = render_markdown("| 層 | 參數 |\n| --- | --- |\n| conv | $k^2 C_{in} C_{out}$ |")
    assert "<table>" in out and "<td>" + MATH_INLINE in out


def test_math_errors_reports_lines() -> None:
    text = "ok $x$\n\nsecond paragraph\nwith $\\frac{1$ here\n\n$$\n\\nope\n$$\n\n- item $\\bad$\n"
    assert [line for line, _ in math_errors(text)] == [3, 5, 9]
    assert math_errors("all $good_1$ $$y$$") == []


# --------------------------------------------------------------------------- numeric matrices

_cell = st.builds(lambda sign, whole, frac: f"{sign}{whole}{frac}", st.sampled_from(["", "-"]),
                  st.integers(0, 999), st.sampled_from(["", ".5", ".25", ".125"]))


@st.composite
def _matrix(draw: st.DrawFn) -> str:
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["bmatrix", "pmatrix"]))
    space = draw(st.sampled_from([" ", "", "  "]))
    body = f"{space}\\\\{space}".join(f"{space}&{space}".join(draw(_cell) for _ in range(cols)) for _ in range(rows))
    return f"\\begin{{{kind}}}{space}{body}{space}\\end{{{kind}}}"


_context = st.sampled_from(["{}", "X = {}", "{}, \\qquad K = {}", "{} \\times {}", "\\frac{{{}}}{{2}}",
                            "{}^T", "{}_{{ij}} + 1", "\\left( {} \\right)", "{} {}", "\\sqrt{{{}}} = {}"])


@settings(max_examples=300, deadline=None)
@given(_context, st.lists(_matrix(), min_size=2, max_size=2), st.booleans())
def test_numeric_matrices_render_exactly_as_latex2mathml_does(context: str, matrices: list[str], display: bool) -> None:
    latex = context.format(*matrices[: context.count("{}")])
    assert render._convert(latex, display=display, fast_matrices=True) == \
        render._convert(latex, display=display, fast_matrices=False)


def test_parameterized_statements_render_as_latex2mathml_does() -> None:
    """Every problem family's statements, both languages, many seeds: the fast path changes nothing."""
    formulas = set()
    for family in all_families():
        for seed in range(25):
            params = family.generate(seed)
            for lang in ("en", "zh-Hant"):
                text = family.render(params, lang)
                formulas.update((m.group(2), bool(m.group(1))) for m in re.finditer(r"(\$?)\$(.+?)\$\1", text, re.S))
    with_matrices = [(latex, display) for latex, display in formulas if render._without_numeric_matrices(latex)[1]]
    assert len(with_matrices) > 50  # the families do write numeric matrices: the comparison is not empty
    for latex, display in with_matrices:
        fast = render._convert(latex.strip(), display=display, fast_matrices=True)
        assert fast == render._convert(latex.strip(), display=display, fast_matrices=False), latex


def test_matrix_stand_in_never_collides_with_the_formula() -> None:
    latex = r"\aleph = \begin{bmatrix} 1 & 2 \end{bmatrix}"
    assert render._without_numeric_matrices(latex) == (latex, [])
    assert latex_to_mathml(latex).count("<mtable>") == 1 and "&#x02135;" in latex_to_mathml(latex)
