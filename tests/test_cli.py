import subprocess
import sys

import pytest

from livesvc import __version__
from livesvc.cli import main


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(["--version"])
    assert exc_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"livesvc {__version__}"


def test_no_command_prints_help_and_exits_2():
    proc = subprocess.run([sys.executable, "-m", "livesvc"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage: livesvc" in proc.stderr
