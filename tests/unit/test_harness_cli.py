"""`python -m harness`: the command line that runs the demo (`make demo`)."""

from __future__ import annotations

import pytest

from harness import __main__ as cli


@pytest.mark.parametrize("argv", [[], ["serve"], ["demo", "--port", "1"], ["launch"]])
def test_bad_usage_exits_2_with_argparse_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a command line that is not `demo` (`serve` is the emulator's: `python -m
    localaws serve`) WHEN it is parsed THEN it exits 2 with argparse's usage message, and
    nothing of the demo runs"""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)

    assert exit_info.value.code == 2
    assert "usage: python -m harness" in capsys.readouterr().err


def test_help_names_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN `--help` WHEN it is parsed THEN it lists the demo and exits 0 at once"""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])

    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out
