"""Every code block in README.md and docs/*.md runs, so the documentation cannot drift from the code.

The convention (everyone writing docs follows it):

- ```python blocks run, each file's blocks in order in one namespace (a
  later block sees an earlier block's names);
- ```console blocks: each line starting with "$ " is a shell command (a line
  ending in a backslash continues on the next); the other lines are its
  output, shown to the reader and not checked;
- every other block (```text for output, ```bash for install steps, ```toml,
  ...) is not run.

Both run "from the repository root": in a temporary folder holding a link to
every top-level entry of the repository, so relative paths such as
examples/rnnlm.py or plugins/aerann-mgu work while whatever a block writes
(runs/..., lm.npz) lands in the temporary folder.  The Python running the
tests runs the blocks; its bin folder comes first on PATH, so "aerann" and
"python" are this environment's.  A file's blocks run in one subprocess with
a time limit: keep every block tiny (small vocabularies, a few sentences, one
or two epochs, --quick flags).  A failure names the file and line of the block.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import documented_commands

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TIME_LIMIT = int(os.environ.get("AERANN_DOCS_TIME_LIMIT", "600"))  # seconds per file (a guard against hangs)
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


def documents():
    files = sorted(DOCS.glob("*.md")) if DOCS.is_dir() else []
    return [ROOT / "README.md", *files]


def blocks(path: Path):
    """(language, first line number of the code, code) of every fenced block of a Markdown file."""
    found, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, language = match["fence"], (match["info"].strip().split() or [""])[0].lower()
        start, i = i + 1, i + 1
        while i < len(lines) and not re.match(rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}\s*$", lines[i]):
            i += 1
        found.append((language, start + 1, "\n".join(lines[start:i])))
        i += 1
    return found


def commands(code: str):
    """The shell commands of a console block: lines starting with "$ ", joined across trailing backslashes."""
    result, current = [], None
    for line in code.splitlines():
        if current is not None:
            current += "\n" + line
        elif line.startswith("$ "):
            current = line[2:]
        else:
            continue
        if current.endswith("\\"):
            continue
        result.append(current)
        current = None
    if current is not None:
        result.append(current)
    return result


RUNNER = textwrap.dedent(
    """
    import json, subprocess, sys, traceback
    plan = json.load(open(sys.argv[1]))
    namespace = {"__name__": "__docs__"}
    for step in plan["steps"]:
        where = f"{plan['file']}:{step['line']}"
        print(f"--- {where} ({step['language']})", flush=True)
        if step["language"] == "python":
            try:
                exec(compile("\\n" * (step["line"] - 1) + step["code"], plan["file"], "exec"), namespace)
            except BaseException:
                traceback.print_exc()
                print(f"FAILED: the python block at {where}", flush=True)
                sys.exit(1)
        else:
            print(f"$ {step['code']}", flush=True)
            result = subprocess.run(step["code"], shell=True, executable="/bin/bash")
            if result.returncode:
                print(f"FAILED (exit {result.returncode}): the command at {where}: {step['code']}", flush=True)
                sys.exit(1)
    """
)


def plan(path: Path):
    """The blocks of a page to run, but the example commands tests/test_examples.py runs itself."""
    run_elsewhere = set(documented_commands.EXAMPLES.values()) if path == DOCS / "examples.md" else set()
    steps = []
    for language, line, code in blocks(path):
        if language == "python":
            steps.append({"language": "python", "line": line, "code": code})
        elif language == "console":
            steps += [{"language": "console", "line": line, "code": c} for c in commands(code) if c not in run_elsewhere]
    return steps


def shadow_root(folder: Path) -> Path:
    """A folder that looks like the repository root but keeps what the blocks write."""
    for entry in ROOT.iterdir():
        if entry.name not in {".git", "runs", ".venv", ".pytest_cache", ".hypothesis"}:
            (folder / entry.name).symlink_to(entry)
    return folder


@pytest.mark.slow  # each page runs in a new process, most of them whole programs
@pytest.mark.parametrize(
    "path", [pytest.param(path, id=str(path.relative_to(ROOT))) for path in documents() if plan(path)]
)
def test_every_code_block_runs(path, tmp_path):
    steps = plan(path)
    (tmp_path / "root").mkdir()
    root = shadow_root(tmp_path / "root")
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"file": str(path.relative_to(ROOT)), "steps": steps}))
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("MPLBACKEND", "Agg")
    try:
        result = subprocess.run(
            [sys.executable, str(runner), str(plan_file)], cwd=root, env=env,
            capture_output=True, text=True, timeout=TIME_LIMIT,
        )
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or b"").decode(errors="replace") if isinstance(error.stdout, bytes) else error.stdout
        started = re.findall(r"^--- (\S+)", output or "", re.M)
        pytest.fail(f"{path.name} took over {TIME_LIMIT} s (last block started: {started[-1] if started else '?'})")
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


def test_the_example_commands_left_to_test_examples_are_documented_commands():
    documented = {c for language, _, code in blocks(DOCS / "examples.md") if language == "console" for c in commands(code)}
    assert set(documented_commands.EXAMPLES.values()) <= documented
    assert all(step["code"] not in documented_commands.EXAMPLES.values() for step in plan(DOCS / "examples.md"))


def test_the_convention_parser():
    code = "$ aerann train \\\n  --out x\nsome output\n$ aerann units\n"
    assert commands(code) == ["aerann train \\\n  --out x", "aerann units"]


def test_every_docs_page_is_linked_from_the_index_and_every_link_resolves():
    index = DOCS / "index.md"
    assert index.is_file()
    linked = set(re.findall(r"\]\(([^)#\s]+)", index.read_text(encoding="utf-8")))
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert page.name in linked, f"docs/index.md does not link {page.name}"
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            if not (page.parent / target).exists():
                pytest.fail(f"{page.relative_to(ROOT)} links {target}, which does not exist")

