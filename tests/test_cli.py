import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from livesvc import __version__
from livesvc.cli import build_parser, main


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(["--version"])
    assert exc_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"livesvc {__version__}"


def test_no_command_prints_help_and_exits_2():
    proc = subprocess.run([sys.executable, "-m", "livesvc"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage: livesvc" in proc.stderr


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


def test_every_subcommand_is_listed():
    # Guards the parametrisation below: a new subcommand is checked as soon as it exists.
    assert {"serve", "check-config", "hash-key", "chat", "emulator"} <= set(_subcommands())


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_subcommand_help_has_a_description_and_an_example(name: str):
    sub = _subcommands()[name]
    help_text = sub.format_help()
    description = sub.description or ""
    # A description says more than the one-line summary in `livesvc --help`.
    assert len(description.split()) >= 12, f"{name}: description too short: {description!r}"
    assert description.split("\n")[0] in help_text
    # An example block (kept as written: RawDescriptionHelpFormatter) with a real command.
    assert "examples:" in (sub.epilog or ""), f"{name}: no examples in the epilog"
    examples = help_text.split("\nexamples:\n", 1)[1].splitlines()
    assert any(line.strip().startswith(f"livesvc {name}") for line in examples), name
    assert sub.formatter_class is argparse.RawDescriptionHelpFormatter


def test_top_level_help_points_at_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "livesvc COMMAND --help" in out


def test_make_run_announces_each_first_run_step(tmp_path):
    # A dry run for a fresh virtualenv: every slow step is preceded by a line saying what it does.
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    root = Path(__file__).parents[1]
    proc = subprocess.run(
        [make, "-n", "-C", str(root), "run", f"VENV={tmp_path / 'venv'}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = proc.stdout.splitlines()
    pip_install = next(
        i for i, line in enumerate(lines) if "pip install" in line and ".[dev]" in line
    )
    assert "--quiet" not in lines[pip_install]  # pip lists what it fetches
    steps = [line for line in lines[:pip_install] if line.startswith("echo ")]
    assert any("creating the virtualenv" in line for line in steps)
    assert "installing livesvc and its dependencies" in steps[-1]
