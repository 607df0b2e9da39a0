from pathlib import Path

from codexremote.cli import build_parser, main, settings_from_args


def test_state_dir_before_or_after_the_subcommand(tmp_path: Path) -> None:
    parser = build_parser()
    before = parser.parse_args(["devices", "--state-dir", str(tmp_path), "list"])
    after = parser.parse_args(["devices", "list", "--state-dir", str(tmp_path)])
    assert settings_from_args(before).state_dir == tmp_path
    assert settings_from_args(after).state_dir == tmp_path


def test_approvals_list_on_an_empty_state_dir(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["approvals", "list", "--state-dir", str(tmp_path / "s")]) == 0
    assert "No always-allowed MCP tools." in capsys.readouterr().out


def test_invalid_setting_is_one_line_exit_2(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["serve", "--port", "99999"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("codexremote: invalid setting port") and err.count("\n") == 1
