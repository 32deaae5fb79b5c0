"""The examples in livesvc.wire's docstrings run and print what they claim."""

import doctest
import importlib

import pytest

MODULES = [
    "_base",
    "_client",
    "_codec",
    "_content",
    "_duration",
    "_enums",
    "_server",
    "_setup",
    "_usage",
]


@pytest.mark.parametrize("module", ["livesvc.wire", *(f"livesvc.wire.{m}" for m in MODULES)])
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
    assert result.attempted > 0
