"""Every code block in README.md and docs/*.md runs as written, against the
demo store the README's first command makes (`python backfill.py --load-data
--create-views` in a fresh folder; the install and the demo server are the
parts of that command not run here).

Python blocks run in order in one interpreter per document, as a reader
pastes them into one session (a later block uses an earlier block's names);
`gr.Blocks.launch` returns at once, since serving an app never would. Bash
blocks run line by line except the commands that serve until stopped (the
demo, the dashboard, the automation loop) or that are this suite and its
install: tests launch those elsewhere (test_demo_app, test_dashboard_command,
test_alerts). `sql` blocks are for Trino and ClickHouse, not here; JSON and
text blocks show shapes, not commands."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

ROOT = Path(__file__).parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)
#: Commands that serve until stopped, or install and run this suite.
#: (Benchmarks take minutes to hours; bench/report.py runs them, not this test.)
_NOT_HERE = ("pip install", "python -m pytest", "dashboard", "backfill.py", "python bench/")
#: The demo server (`python -m demo_app ...`), not its modules (`demo_app.retrain`).
_DEMO_SERVER = re.compile(r"python -m demo_app(\s|$)")
#: A reader runs the commands in the repository, where demo_app is importable.
_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
_RUNNER = """
import json, sys, traceback
import gradio as gr

gr.Blocks.launch = lambda self, *args, **kwargs: (None, None, None)
namespace = {"__name__": "__main__"}
for line, code in json.loads(sys.argv[1]):
    try:
        exec(compile(code, f"{sys.argv[2]} block at line {line}", "exec"), namespace)
    except Exception:
        traceback.print_exc()
        print(f"BLOCK FAILED at line {line}")
        sys.exit(1)
"""


def blocks(document: Path, language: str) -> list[tuple[int, str]]:
    text = document.read_text(encoding="utf-8")
    return [
        (text[: match.start()].count("\n") + 1, match.group(2))
        for match in _BLOCK.finditer(text)
        if match.group(1) == language
    ]


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    """A fresh folder after the README's first command's backfill."""
    folder = tmp_path_factory.mktemp("readme")
    command = [sys.executable, str(ROOT / "backfill.py"), "--load-data", "--create-views"]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fired 2022-04-24 00:00 UTC, resolved 2022-04-28 00:00 UTC" in done.stdout
    return folder


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_python_blocks_run_as_written(demo_folder, document):
    found = blocks(document, "python")
    if not found:
        pytest.skip(f"{document.name} has no python block")
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(found), document.name],
        cwd=demo_folder,
        env=_ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])


def test_bash_blocks_run_as_written(demo_folder):
    ran = []
    for document in DOCUMENTS:
        for line, code in blocks(document, "bash"):
            for command in _commands(code):
                if any(part in command for part in _NOT_HERE) or _serves(command):
                    continue
                if _DEMO_SERVER.search(command):
                    continue
                done = subprocess.run(
                    shlex.split(command, comments=True),
                    cwd=demo_folder,
                    env=_ENV,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                assert done.returncode == 0, (document.name, line, command, done.stderr[-2000:])
                ran.append(command)
    assert any("projections" in c for c in ran) and any("automations list" in c for c in ran)


def _commands(code: str) -> list[str]:
    """A block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = code.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and line[0] != "#"]


def _serves(command: str) -> bool:
    return "automations run" in command and "--once" not in command


def test_the_quickstart_example_is_the_readme_block():
    (first,) = [code for _, code in blocks(ROOT / "README.md", "python")][:1]
    assert (ROOT / "examples" / "quickstart.py").read_text(encoding="utf-8") == first


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(document: Path) -> set[str]:
    """GitHub's anchors: a heading lowercased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"^```.*?^```", "", document.read_text(encoding="utf-8"), flags=re.M | re.S)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_and_anchor_resolves():
    """README.md is the front door to docs/: a moved section must not leave a dead link."""
    broken = []
    for document in DOCUMENTS:
        prose = re.sub(r"^```.*?^```", "", document.read_text(encoding="utf-8"), flags=re.M | re.S)
        for target in _LINK.findall(prose):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            if not linked.exists():
                broken.append((document.name, target))
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append((document.name, target))
    assert not broken, broken
