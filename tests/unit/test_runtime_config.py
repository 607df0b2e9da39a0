"""runtime_config on real files: surgical writes (REL-09, T15), untrusted override, reads."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from codexremote.errors import BadRequest, Conflict
from codexremote.runtime_config import (
    PARSE_ERROR_PREFIX,
    ConfigParseError,
    RuntimeValues,
    effective_turn_overrides,
    effective_turn_start_overrides,
    read_runtime_values,
    write_runtime_settings,
)
from codexremote.runtime_config.writer import write_config_keys_sync
from tests.unit.test_runtime_config_support import CORPUS, assert_surgical


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "codex_home"
    path.mkdir()
    return path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def config(home: Path) -> Path:
    return home / "config.toml"


def write_bytes(home: Path, text: str) -> bytes:
    data = text.encode("utf-8")
    config(home).write_bytes(data)
    return data


def leftovers(home: Path) -> list[str]:
    return [p.name for p in home.iterdir() if p.name.startswith(".tmp-")]


# --- surgical writes over the corpus -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(CORPUS))
@pytest.mark.parametrize(
    ("approval", "sandbox"), [("never", None), (None, "read-only"), ("on-request", None)]
)
async def test_rel09_corpus_write_touches_only_the_target_line(
    home: Path, state: Path, name: str, approval: str | None, sandbox: str | None
) -> None:
    old = CORPUS[name]
    old_bytes = write_bytes(home, old)
    values = await write_runtime_settings(
        home, approval_policy=approval, sandbox_mode=sandbox, state_dir=state
    )
    new = config(home).read_bytes().decode("utf-8")
    key, value = ("approval_policy", approval) if approval else ("sandbox_mode", sandbox)
    assert value is not None
    assert_surgical(old, new, key, value)
    assert (values.approvalPolicy if approval else values.sandboxMode) == value
    backup = home / "config.toml.bak"
    assert backup.read_bytes() == old_bytes if new != old else not backup.exists()
    assert leftovers(home) == []


async def test_rel09_both_keys_in_one_write(home: Path, state: Path) -> None:
    write_bytes(home, CORPUS["keys_absent_tables_only"])
    await write_runtime_settings(
        home, approval_policy="never", sandbox_mode="workspace-write", state_dir=state
    )
    text = config(home).read_text()
    assert text.startswith('approval_policy = "never"\nsandbox_mode = "workspace-write"\n# Only')
    assert text.endswith(CORPUS["keys_absent_tables_only"])


async def test_rel09_new_key_goes_before_the_first_table(home: Path, state: Path) -> None:
    write_bytes(home, 'model = "m"\n\n# providers\n[model_providers.x]\nname = "X"\n')
    await write_runtime_settings(
        home, approval_policy=None, sandbox_mode="read-only", state_dir=state
    )
    assert config(home).read_text() == (
        'model = "m"\nsandbox_mode = "read-only"\n\n# providers\n[model_providers.x]\nname = "X"\n'
    )


async def test_rel09_mixed_line_endings_use_the_dominant_one(home: Path, state: Path) -> None:
    write_bytes(home, 'a = 1\r\nmodel = "m"\n[t]\r\nx = 1\r\n')
    await write_runtime_settings(home, approval_policy="never", sandbox_mode=None, state_dir=state)
    assert config(home).read_bytes() == (
        b'a = 1\r\nmodel = "m"\napproval_policy = "never"\r\n[t]\r\nx = 1\r\n'
    )


async def test_rel09_missing_file_and_home_are_created(tmp_path: Path, state: Path) -> None:
    home = tmp_path / "new_home"
    values = await write_runtime_settings(
        home, approval_policy="never", sandbox_mode="read-only", state_dir=state
    )
    assert config(home).read_text() == 'approval_policy = "never"\nsandbox_mode = "read-only"\n'
    assert stat.S_IMODE(config(home).stat().st_mode) == 0o600
    assert values == RuntimeValues(approvalPolicy="never", sandboxMode="read-only")
    assert not (home / "config.toml.bak").exists()


async def test_rel09_file_mode_kept_and_symlink_written_through(
    home: Path, state: Path, tmp_path: Path
) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "codex.toml"
    real.write_text('model = "m"\n')
    real.chmod(0o640)
    config(home).symlink_to(real)
    await write_runtime_settings(home, approval_policy="never", sandbox_mode=None, state_dir=state)
    assert config(home).is_symlink()
    assert real.read_text() == 'model = "m"\napproval_policy = "never"\n'
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert (dotfiles / "codex.toml.bak").read_text() == 'model = "m"\n'


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        'approval_policy = "never\n',  # unterminated string
        "model = 1\nmodel = 2\n",  # duplicate key
        "[t]\n[t]\n",  # duplicate table
        "key = \n",
    ],
)
async def test_rel09_bad_toml_is_conflict_and_untouched(home: Path, state: Path, bad: str) -> None:
    data = write_bytes(home, bad)
    with pytest.raises(ConfigParseError) as info:
        await write_runtime_settings(
            home, approval_policy="never", sandbox_mode=None, state_dir=state
        )
    assert isinstance(info.value, Conflict)
    assert info.value.message.startswith(PARSE_ERROR_PREFIX)
    with pytest.raises(Conflict, match=r"^config\.toml does not parse: "):
        await write_runtime_settings(
            home, approval_policy="untrusted", sandbox_mode=None, state_dir=state
        )
    with pytest.raises(Conflict):
        read_runtime_values(home, None)
    assert config(home).read_bytes() == data
    assert sorted(p.name for p in home.iterdir()) == ["config.toml"]
    assert not state.exists()


async def test_rel09_not_utf8_is_conflict(home: Path, state: Path) -> None:
    config(home).write_bytes(b'model = "\xff"\n')
    with pytest.raises(Conflict, match="not valid UTF-8"):
        await write_runtime_settings(
            home, approval_policy="never", sandbox_mode=None, state_dir=state
        )
    assert config(home).read_bytes() == b'model = "\xff"\n'


@pytest.mark.parametrize(
    ("approval", "sandbox", "message"),
    [
        (None, None, "At least one runtime setting is required"),
        ("always", None, "Unsupported approval policy: always"),
        ("", None, "Unsupported approval policy: "),
        ("Never", None, "Unsupported approval policy: Never"),
        (None, "full", "Unsupported sandbox mode: full"),
        ("never", "read_only", "Unsupported sandbox mode: read_only"),
    ],
)
async def test_invalid_values_bad_request_nothing_written(
    home: Path, state: Path, approval: str | None, sandbox: str | None, message: str
) -> None:
    data = write_bytes(home, CORPUS["typical"])
    with pytest.raises(BadRequest) as info:
        await write_runtime_settings(
            home, approval_policy=approval, sandbox_mode=sandbox, state_dir=state
        )
    assert info.value.message == message
    assert config(home).read_bytes() == data
    assert sorted(p.name for p in home.iterdir()) == ["config.toml"]


async def test_dotted_target_key_is_conflict(home: Path, state: Path) -> None:
    data = write_bytes(home, "approval_policy.granular.rules = true\n")
    with pytest.raises(Conflict, match="is a table"):
        await write_runtime_settings(
            home, approval_policy="never", sandbox_mode=None, state_dir=state
        )
    assert config(home).read_bytes() == data


# --- optimistic concurrency --------------------------------------------------------------


def test_rel09_concurrent_change_is_retried_not_lost(home: Path) -> None:
    write_bytes(home, 'model = "a"\napproval_policy = "on-request"\n')
    calls = 0

    def other_writer() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # e.g. app-server's config/value/write lands between read and replace
            config(home).write_text(
                'model = "b"  # changed by codex\napproval_policy = "on-request"\n'
            )

    write_config_keys_sync(home, {"approval_policy": "never"}, before_replace=other_writer)
    assert calls == 2
    assert (
        config(home).read_text() == 'model = "b"  # changed by codex\napproval_policy = "never"\n'
    )
    assert leftovers(home) == []


@pytest.mark.parametrize("how", ["rename", "in-place"])
def test_rel09_write_between_check_and_swap_is_merged_not_lost(home: Path, how: str) -> None:
    """Issue 9 (finding 9): a write landing after our last check is seen through the swap."""
    write_bytes(home, 'model = "a"\napproval_policy = "on-request"\n')
    theirs = 'model = "b"  # changed by codex\napproval_policy = "on-request"\n'
    calls = 0

    def other_writer() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            if how == "rename":
                (home / "theirs").write_text(theirs)
                os.replace(home / "theirs", config(home))
            else:
                config(home).write_text(theirs)

    write_config_keys_sync(home, {"approval_policy": "never"}, after_check=other_writer)
    assert (
        config(home).read_text() == 'model = "b"  # changed by codex\napproval_policy = "never"\n'
    )
    assert calls == 2
    assert leftovers(home) == []


def test_rel09_writer_that_keeps_changing_gives_conflict(home: Path) -> None:
    write_bytes(home, 'model = "a"\n')
    counter = 0

    def busy_writer() -> None:
        nonlocal counter
        counter += 1
        config(home).write_text(f'model = "other-{counter}"\n')

    with pytest.raises(Conflict, match="kept changing"):
        write_config_keys_sync(home, {"sandbox_mode": "read-only"}, before_replace=busy_writer)
    assert config(home).read_text() == f'model = "other-{counter}"\n'  # theirs, not lost
    assert leftovers(home) == []


async def test_rel09_parallel_writes_of_both_keys_both_land(home: Path, state: Path) -> None:
    write_bytes(home, CORPUS["typical"])
    for approval, sandbox in [("never", "read-only"), ("on-request", "danger-full-access")]:
        await asyncio.gather(
            write_runtime_settings(
                home, approval_policy=approval, sandbox_mode=None, state_dir=state
            ),
            write_runtime_settings(
                home, approval_policy=None, sandbox_mode=sandbox, state_dir=state
            ),
        )
        values = read_runtime_values(home, None)
        assert (values.approvalPolicy, values.sandboxMode) == (approval, sandbox)


# --- untrusted ---------------------------------------------------------------------------


async def test_untrusted_never_written_to_config_toml(home: Path, state: Path) -> None:
    data = write_bytes(home, CORPUS["typical"])
    values = await write_runtime_settings(
        home, approval_policy="untrusted", sandbox_mode=None, state_dir=state
    )
    assert values.approvalPolicy == "untrusted"
    assert config(home).read_bytes() == data
    assert "untrusted" not in config(home).read_text()
    override = state / "runtime-overrides.json"
    assert stat.S_IMODE(override.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert json.loads(override.read_text()) == {
        "approvalPolicy": "untrusted",
        "configApprovalPolicy": "on-request",
    }
    assert read_runtime_values(home, None, state_dir=state).approvalPolicy == "untrusted"
    assert read_runtime_values(home, None).approvalPolicy == "on-request"  # file alone
    assert effective_turn_overrides(home, state) == {
        "approvalPolicy": "untrusted",
        "sandbox": "workspace-write",
    }

    # any other policy clears the override and goes to config.toml
    values = await write_runtime_settings(
        home, approval_policy="never", sandbox_mode=None, state_dir=state
    )
    assert values.approvalPolicy == "never"
    assert not override.exists()
    assert 'approval_policy = "never"' in config(home).read_text()


async def test_untrusted_with_sandbox_and_missing_file(tmp_path: Path, state: Path) -> None:
    home = tmp_path / "home"
    values = await write_runtime_settings(
        home, approval_policy="untrusted", sandbox_mode="read-only", state_dir=state
    )
    assert config(home).read_text() == 'sandbox_mode = "read-only"\n'
    assert (values.approvalPolicy, values.sandboxMode) == ("untrusted", "read-only")


async def test_untrusted_override_lapses_after_a_hand_edit(home: Path, state: Path) -> None:
    write_bytes(home, 'approval_policy = "on-request"\n')
    await write_runtime_settings(
        home, approval_policy="untrusted", sandbox_mode=None, state_dir=state
    )
    config(home).write_text('approval_policy = "never"\n')  # the user edits the file by hand
    assert read_runtime_values(home, None, state_dir=state).approvalPolicy == "never"
    assert effective_turn_overrides(home, state) == {"approvalPolicy": "never"}


async def test_tampered_override_cannot_loosen_policy(home: Path, state: Path) -> None:
    write_bytes(home, 'approval_policy = "on-request"\n')
    state.mkdir(mode=0o700)
    (state / "runtime-overrides.json").write_text(
        '{"approvalPolicy": "never", "configApprovalPolicy": "on-request"}'
    )
    assert read_runtime_values(home, None, state_dir=state).approvalPolicy == "on-request"
    (state / "runtime-overrides.json").write_text("{not json")
    assert read_runtime_values(home, None, state_dir=state).approvalPolicy == "on-request"


# --- reads and turn params ---------------------------------------------------------------


def test_read_values_with_real_parser(home: Path) -> None:
    write_bytes(home, CORPUS["trailing_comment_single_quotes"])
    assert read_runtime_values(home, None) == RuntimeValues(
        approvalPolicy="on-request", sandboxMode="read-only", model="o3"
    )


def test_read_trust_level_exact_cwd_and_missing_file(home: Path) -> None:
    assert read_runtime_values(home, "/x") == RuntimeValues()
    write_bytes(home, CORPUS["typical"])
    values = read_runtime_values(home, "/Users/me/work/app")
    assert values.trustLevel == "trusted"
    assert values.model == "gpt-5-codex" and values.modelReasoningEffort == "high"
    assert read_runtime_values(home, "/Users/me/work/app/").trustLevel is None
    assert read_runtime_values(home, None).trustLevel is None


def test_granular_policy_reads_as_none(home: Path, state: Path) -> None:
    write_bytes(home, CORPUS["inline_tables_and_arrays_no_newline"])
    assert read_runtime_values(home, None).approvalPolicy is None
    assert effective_turn_overrides(home, state) == {}


def test_turn_params_map_on_failure_and_sandbox_policy(home: Path, state: Path) -> None:
    write_bytes(
        home,
        'approval_policy = "on-failure"\nsandbox_mode = "workspace-write"\n'
        '[sandbox_workspace_write]\nnetwork_access = true\nwritable_roots = ["/opt/x"]\n',
    )
    assert effective_turn_overrides(home, state) == {
        "approvalPolicy": "on-request",
        "sandbox": "workspace-write",
    }
    assert effective_turn_start_overrides(home, state) == {
        "approvalPolicy": "on-request",
        "sandboxPolicy": {
            "type": "workspaceWrite",
            "writableRoots": ["/opt/x"],
            "networkAccess": True,
            "excludeTmpdirEnvVar": False,
            "excludeSlashTmp": False,
        },
    }
    write_bytes(home, 'sandbox_mode = "read-only"\napproval_policy = "bogus"\n')
    assert effective_turn_start_overrides(home, state) == {
        "sandboxPolicy": {"type": "readOnly", "networkAccess": False}
    }
    write_bytes(home, 'sandbox_mode = "danger-full-access"\n')
    assert effective_turn_start_overrides(home, state) == {
        "sandboxPolicy": {"type": "dangerFullAccess"}
    }
    os.remove(config(home))
    assert effective_turn_start_overrides(home, state) == {}
