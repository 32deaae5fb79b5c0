"""The examples in the module docstrings and the README run as written."""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from pathlib import Path

import pytest
import trio
import trio.testing

import supervisors

MODULES = [
    "supervisors",
    "supervisors._backoff",
    "supervisors._context",
    "supervisors._core",
    "supervisors._dynamic",
    "supervisors._errors",
    "supervisors._mailbox",
    "supervisors._restart",
    "supervisors._snapshot",
    "supervisors._spec",
    "supervisors._supervisor",
    "supervisors._window",
]
README = Path(__file__).resolve().parents[2] / "supervisors" / "README.md"


def examples_in(doc: str | None) -> list[str]:
    """The ``Example::`` blocks of a docstring, dedented."""
    text = inspect.cleandoc(doc or "")
    return [
        textwrap.dedent(block) for block in re.findall(r"Example::\n\n((?:    .*\n|\n)+)", text)
    ]


def docstring_examples(module_name: str) -> list[str]:
    return examples_in(importlib.import_module(module_name).__doc__)


@pytest.fixture
def virtual_trio_run(monkeypatch):
    """Examples call trio.run(main); give them a virtual clock so sleeps cost nothing."""
    real_run = trio.run

    def run(fn, *args, **kwargs):
        kwargs.setdefault("clock", trio.testing.MockClock(autojump_threshold=0))
        return real_run(fn, *args, **kwargs)

    monkeypatch.setattr(trio, "run", run)


@pytest.mark.parametrize("module_name", MODULES)
def test_module_docstring_example_runs(module_name, virtual_trio_run):
    examples = docstring_examples(module_name)
    assert examples, f"{module_name} has no Example:: block"
    for code in examples:
        exec(compile(code, f"<{module_name} example>", "exec"), {})


PUBLIC_WITH_EXAMPLES = [
    name for name in supervisors.__all__ if examples_in(getattr(supervisors, name).__doc__)
]


def test_public_objects_with_examples_exist():
    assert {"MailboxSender", "Shutdown"} <= set(PUBLIC_WITH_EXAMPLES)


@pytest.mark.parametrize("name", PUBLIC_WITH_EXAMPLES)
def test_public_docstring_example_runs(name, virtual_trio_run):
    for code in examples_in(getattr(supervisors, name).__doc__):
        exec(compile(code, f"<{name} example>", "exec"), {})


def test_readme_tree_is_short_and_runs(virtual_trio_run, capsys):
    text = README.read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(code.strip().splitlines()) < 20
    namespace: dict[str, object] = {}
    exec(compile(code, "<README example>", "exec"), namespace)
    trio.run(namespace["main"])
    assert "SupervisorSnapshot(name='session'" in capsys.readouterr().out
