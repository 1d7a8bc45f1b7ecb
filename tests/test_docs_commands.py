"""The commands the docs show cannot drift from the program.

A ``console`` block of a page is a session: each ``$ `` line is a command, the lines under it
what it prints. Each block is run in a folder of its own holding a copy of
``config.example.yaml`` (the pages say so), in one shell, so ``echo $?`` shows the exit code of
the command before; what each command prints (stdout and stderr together) must be what the page
shows, up to whitespace (line wrapping), with ``...`` standing for any text. Blocks that cannot
run here (Docker, systemd, a real broker) are ``sh``; for them, and for inline code, every
``lianke-bridge`` subcommand and option they name must exist, and every ``make`` target. A Chinese
page (``page.zh.md``, ``README.zh-CN.md``) has its English page's console blocks, as
tests/test_docs_i18n.py checks, so they run once, on the English page; its other code and its
inline code are checked like any page's.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    {*ROOT.glob("docs/**/*.md"), *ROOT.glob("README*.md"), ROOT / "CONTRIBUTING.md"}
    - {ROOT / "docs/changelog.md"}  # the changelog tells of past versions' commands
)


def translated(page: Path) -> bool:
    """A Chinese page: its console blocks are its English page's (tests/test_docs_i18n.py)."""
    return page.name.endswith((".zh.md", ".zh-CN.md"))


BIN = Path(sys.executable).parent
"""Where this environment's ``lianke-bridge`` is: the pages' commands run it."""
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
MARK = "@@lianke-docs-command-end@@"
TIMEOUT = 60


@dataclass(frozen=True)
class Step:
    """One ``$`` command of a console block and the output the page shows under it."""

    command: str
    expected: str


@dataclass(frozen=True)
class Session:
    """A console block: where it is, and its steps."""

    page: Path
    line: int
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def code_blocks(page: Path) -> list[tuple[str, int, str]]:
    """Each fenced block of a page: its language, the line it starts on, its text."""
    text = page.read_text(encoding="utf-8")
    return [
        (m["lang"], text.count("\n", 0, m.start()) + 1, m["body"]) for m in FENCE.finditer(text)
    ]


def sessions() -> list[Session]:
    """Every console block of every page (run once: on the English page, not its translation)."""
    found = []
    for page in (page for page in PAGES if not translated(page)):
        for lang, line, body in code_blocks(page):
            if lang != "console":
                continue
            steps: list[Step] = []
            for text in body.splitlines():
                if text.startswith("$ "):
                    steps.append(Step(text[2:], ""))
                elif steps:
                    last = steps[-1]
                    steps[-1] = Step(last.command, f"{last.expected}{text}\n")
                else:
                    pytest.fail(f"{page.relative_to(ROOT)}:{line}: output before any `$ ` command")
            found.append(Session(page, line, tuple(steps)))
    return found


def matches(expected: str, actual: str) -> bool:
    """The output the page shows, up to whitespace, ``...`` standing for any text."""
    want = " ".join(expected.split())
    got = " ".join(actual.split())
    pattern = ".*?".join(re.escape(part) for part in want.split("..."))
    return re.fullmatch(pattern, got, re.DOTALL) is not None


def clean_environment(home: Path) -> dict[str, str]:
    """This environment's lianke-bridge first on the PATH; nothing that overrides a config."""
    overrides = ("LIANKE_", "MQTT_", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(overrides)}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", COLUMNS="100", HOME=str(home))
    env.pop("COVERAGE_PROCESS_START", None)
    return env


def run_session(session: Session, folder: Path) -> list[str]:
    """Run a session's commands in one shell; what each printed, in order."""
    shutil.copy(ROOT / "config.example.yaml", folder / "config.example.yaml")
    script = "".join(
        f"{step.command} 2>&1\n__rc=$?\nprintf '\\n{MARK}\\n'\n(exit $__rc)\n"
        for step in session.steps
    )
    run = subprocess.run(  # noqa: S603 - the pages' own commands, in a folder of the test's
        ["bash", "-c", script],  # noqa: S607 - bash from the PATH
        cwd=folder,
        env=clean_environment(folder),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return run.stdout.split(f"\n{MARK}\n")[: len(session.steps)]


@pytest.mark.parametrize("session", sessions(), ids=str)
def test_a_console_block_shows_what_its_commands_print(session: Session, tmp_path: Path) -> None:
    """Each command of the block prints what the page shows under it (``...``: any text)."""
    outputs = run_session(session, tmp_path)
    assert len(outputs) == len(session.steps), f"{session}: the session stopped early"
    for step, output in zip(session.steps, outputs, strict=True):
        assert matches(step.expected, output), (
            f"{session}: `{step.command}` printed\n{output}\nbut the page shows\n{step.expected}"
        )


def test_the_docs_show_the_main_commands_running() -> None:
    """The console blocks cover --help, check-config, decode-qr, health and simulate."""
    commands = " ".join(step.command for session in sessions() for step in session.steps)
    for shown in ("--help", "check-config", "decode-qr", "health", "--print-fleet", "echo $?"):
        assert shown in commands, f"no console block runs {shown}"


# ---- commands that cannot run here: they must at least name what exists ------------------------
@cache
def options_of(subcommand: str | None) -> frozenset[str]:
    """The options ``lianke-bridge [SUBCOMMAND] --help`` lists (and the subcommands, at the top)."""
    argv = [str(BIN / "lianke-bridge"), *([subcommand] if subcommand else []), "--help"]
    run = subprocess.run(  # noqa: S603 - this environment's own script
        argv,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
        timeout=TIMEOUT,
    )
    assert run.returncode == 0, f"`{' '.join(argv[1:])}` failed: {run.stderr}"
    words = set(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", run.stdout))
    if subcommand is None:
        choices = re.search(r"\{([\w,-]+)\}", run.stdout)
        assert choices is not None
        words |= set(choices[1].split(","))
    return frozenset(words)


def invocations(text: str) -> list[list[str]]:
    """The arguments of each ``lianke-bridge`` run in a command line (any wrapper around it)."""
    found = []
    for command in re.split(r"&&|\|\||[;|]|\$\(", text):
        line = command.split(" #", 1)[0].strip().removeprefix("$ ").strip()
        while re.match(r"^(sudo|[A-Z_]+=\S*)\s", line):
            line = line.split(None, 1)[1]
        starts = (
            r"^(?:\S*/)?lianke-bridge(?=\s|$)",
            r"^docker compose run --rm bridge(?=\s|$)",
            r"^docker run .*ghcr\.io/lianke-bridge/lianke-bridge(?::\S+)?(?=\s|$)",
        )
        for start in starts:
            head = re.match(start, line)
            if head:
                rest = line[head.end() :].replace("\\", " ")
                try:
                    words = shlex.split(rest)
                except ValueError:
                    words = rest.split()
                found.append([w.strip("[]…") for w in words if w.strip("[]…")])
                break
    return found


def named_commands() -> list[tuple[str, str]]:
    """Every command line of every page's code (blocks and inline), with where it is."""
    lines = []
    for page in PAGES:
        where = str(page.relative_to(ROOT))
        for lang, start, body in code_blocks(page):
            if lang in {"sh", "console", "bash", "shell", ""}:
                joined = body.replace("\\\n", " ").splitlines()
                if lang == "console":  # the output under a command is not one
                    joined = [line for line in joined if line.startswith("$ ")]
                lines += [(f"{where}:{start}", line) for line in joined]
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        lines += [(where, span) for span in INLINE.findall(text)]
    return lines


def subcommand_of(words: list[str]) -> str | None:
    """The subcommand of ``lianke-bridge``'s arguments (after any global option)."""
    rest = iter(words)
    for word in rest:
        if word == "--log-level":
            next(rest, None)
        elif not word.startswith("-"):
            return word
    return None


def test_every_lianke_bridge_command_in_the_docs_exists() -> None:
    """Every subcommand and option a page names is one the program has."""
    wrong = []
    for where, line in named_commands():
        for words in invocations(line):
            subcommand = subcommand_of(words)
            if subcommand is not None and subcommand not in options_of(None):
                wrong.append(f"{where}: `{line}`: no subcommand {subcommand!r}")
                continue
            known = options_of(None) | (options_of(subcommand) if subcommand else frozenset())
            flags = [w.split("=", 1)[0] for w in words if re.match(r"^--?[A-Za-z]", w)]
            wrong += [f"{where}: `{line}`: no option {f}" for f in flags if f not in known]
    assert wrong == []


def make_targets() -> set[str]:
    """The Makefile's targets."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w.-]+(?: [\w.-]+)*):(?!=)", text, re.MULTILINE))
    names = {name for group in targets for name in group.split()}
    stamp = re.search(r"^STAMP := \$\(VENV\)/(\S+)", text, re.MULTILINE)
    if stamp:
        names.add(f".venv/{stamp[1]}")
    return names


def test_every_make_target_in_the_docs_exists() -> None:
    """`make X` in a page's code names a target of the Makefile."""
    targets = make_targets()
    wrong = [
        f"{where}: `{line}`"
        for where, line in named_commands()
        for target in re.findall(r"(?:^|[\s;&(])make ((?:\.venv/)?[\w.-]+)", line)
        if target not in targets
    ]
    assert wrong == []
