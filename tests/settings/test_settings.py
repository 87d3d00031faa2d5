"""Settings: every group reads its variables, a bad value is one ConfigurationError line naming
the variable, secrets named in channels.yaml resolve through settings, and no module but
runbook/settings.py reads the environment (an AST check, itself tested on planted code)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from runbook.errors import ConfigurationError
from runbook.settings import Settings, child_environment, export_defaults, read_secret

ROOT = Path(__file__).resolve().parents[2]


# -- (a) each group reads its variables ----------------------------------------------------------


def plain(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


@pytest.mark.parametrize(
    ("variable", "value", "read", "expected"),
    [
        ("RUNBOOK_HOME", "/srv/rb", lambda s: s.paths.home, Path("/srv/rb")),
        ("RUNBOOK_ROSTER", "/etc/roster.yaml", lambda s: s.paths.resolved_roster, Path("/etc/roster.yaml")),
        ("RUNBOOK_PLAYBOOKS_DIR", "pb", lambda s: s.paths.playbooks_dir, Path("pb")),
        ("RUNBOOK_TEMPLATES_DIR", "tpl", lambda s: s.paths.templates_dir, Path("tpl")),
        (
            "RUNBOOK_DATABASE_URL",
            "postgresql+psycopg://db/rb",
            lambda s: s.resolved_database_url,
            "postgresql+psycopg://db/rb",
        ),
        ("PREFECT_API_URL", "http://p:4200/api", lambda s: s.prefect.api_url, "http://p:4200/api"),
        ("PREFECT_UI_URL", "https://ui.example", lambda s: s.prefect.ui_url, "https://ui.example"),
        ("PREFECT_UI_API_URL", "https://ui.example/api", lambda s: s.prefect.ui_api_url, "https://ui.example/api"),
        ("PREFECT_HOME", "/var/prefect", lambda s: s.prefect.home, Path("/var/prefect")),
        ("RUNBOOK_SLACK_BOT_TOKEN", "xoxb-1", lambda s: plain(s.slack.bot_token), "xoxb-1"),
        ("SLACK_BOT_TOKEN", "xoxb-2", lambda s: plain(s.slack.bot_token), "xoxb-2"),
        ("SLACK_SIGNING_SECRET", "sig", lambda s: plain(s.slack.signing_secret), "sig"),
        ("SLACK_APP_TOKEN", "xapp-1", lambda s: plain(s.slack.app_token), "xapp-1"),
        ("RUNBOOK_SLACK_API_URL", "http://fake/api/", lambda s: s.slack.api_url, "http://fake/api/"),
        ("RUNBOOK_SLACK_AUDIT_ECHO", "off", lambda s: s.slack.audit_echo, "off"),
        ("RUNBOOK_DECISION_KEY", "k3y", lambda s: plain(s.signoffs.decision_key), "k3y"),
        (
            "RUNBOOK_REQUIRE_IDENTITY",
            '{"statement": ["slack"]}',
            lambda s: s.signoffs.require_identity,
            {"statement": ["slack"]},
        ),
        ("RUNBOOK_LISTENING", "/etc/listening.yaml", lambda s: s.listening_file(), Path("/etc/listening.yaml")),
        ("RUNBOOK_WORKER_LIMIT", "4", lambda s: s.worker.limit, 4),
        ("RUNBOOK_WORKER_SCHEDULER", "0", lambda s: s.worker.scheduler, False),
        ("RUNBOOK_WORKER_VERBOSE", "yes", lambda s: s.worker.verbose, True),
        ("RUNBOOK_CHANNELS", "/etc/channels.yaml", lambda s: s.channels.file, Path("/etc/channels.yaml")),
        ("RUNBOOK_BLUESKY_PDS", "http://pds:2583", lambda s: s.channels.bluesky_pds, "http://pds:2583"),
    ],
)
def test_each_variable_reaches_its_group(variable, value, read, expected) -> None:  # noqa: ANN001
    assert read(Settings({variable: value})) == expected
    assert read(Settings({})) != expected  # the default differs, so the variable did it


def test_defaults_without_any_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings({})
    assert settings.paths.home == Path(".runbook")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / '.runbook' / 'runbook.db'}"
    assert settings.paths.resolved_roster == Path("roster.yaml")
    assert (settings.worker.limit, settings.worker.scheduler, settings.worker.verbose) == (None, True, False)
    assert settings.slack.bot_token is None and settings.slack.audit_echo == "thread"
    assert settings.listening_file() is None  # no listening.yaml here or under home
    (tmp_path / ".runbook").mkdir()
    (tmp_path / ".runbook" / "listening.yaml").write_text("{}")
    assert settings.listening_file() == Path(".runbook") / "listening.yaml"


def test_a_child_process_environment_rebuilds_the_same_paths_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    parent = Settings({"RUNBOOK_HOME": "state", "RUNBOOK_PLAYBOOKS_DIR": "pb"})
    env = parent.child_env()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    child = Settings(env)
    assert child.paths.home == tmp_path / "state" and child.paths.playbooks_dir == tmp_path / "pb"
    assert child.paths.resolved_roster == tmp_path / "roster.yaml"
    assert child.resolved_database_url == f"sqlite:///{tmp_path / 'state' / 'runbook.db'}"


def test_the_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_WORKER_LIMIT", "7")
    monkeypatch.setenv("RUNBOOK_HOME", "/srv/state")
    settings = Settings()
    assert settings.worker.limit == 7 and settings.paths.home == Path("/srv/state")


def test_an_empty_variable_counts_as_unset_and_runbook_names_win_over_slacks() -> None:
    settings = Settings(
        {"RUNBOOK_WORKER_LIMIT": "", "RUNBOOK_SLACK_BOT_TOKEN": "xoxb-ours", "SLACK_BOT_TOKEN": "xoxb-theirs"}
    )
    assert settings.worker.limit is None
    assert settings.slack.bot_token is not None and settings.slack.bot_token.get_secret_value() == "xoxb-ours"


def test_keyword_overrides_win_over_the_environment_and_unknown_names_are_refused() -> None:
    settings = Settings(
        {"RUNBOOK_HOME": "/env"},
        home=Path("/given"),
        database_url="sqlite://",
        worker_limit=2,
        channels=Path("c.yaml"),
        slack_bot_token=SecretStr("xoxb-x"),
    )
    assert settings.paths.home == Path("/given") and settings.resolved_database_url == "sqlite://"
    assert settings.worker.limit == 2 and settings.channels.file == Path("c.yaml")
    # the flat names other packages still read
    assert settings.home == Path("/given") and settings.slack_bot_token == settings.slack.bot_token
    with pytest.raises(TypeError, match="no setting 'hme'"):
        Settings({}, hme=Path("/typo"))
    with pytest.raises(ConfigurationError, match=r"^Settings\(worker_limit=\.\.\.\): .*greater than or equal to 1"):
        Settings({}, worker_limit=0)


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings({"SLACK_BOT_TOKEN": "xoxb-TOPSECRET", "RUNBOOK_DECISION_KEY": "KEY-TOPSECRET"})
    assert "TOPSECRET" not in repr(settings)


# -- (b) a bad value is one clear line naming the variable ---------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("RUNBOOK_WORKER_LIMIT", "four", "valid integer"),
        ("RUNBOOK_WORKER_LIMIT", "0", "greater than or equal to 1"),
        ("RUNBOOK_WORKER_SCHEDULER", "maybe", "valid boolean"),
        ("RUNBOOK_SLACK_AUDIT_ECHO", "loud", "'thread' or 'off'"),
        ("RUNBOOK_REQUIRE_IDENTITY", "{statement", "not JSON"),
        ("RUNBOOK_REQUIRE_IDENTITY", '{"statement": ["email"]}', "'slack' or 'cli'"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}: ") and says in message and repr(value) in message
    assert "\n" not in message


def test_the_cli_turns_a_bad_setting_into_one_line_and_exit_7(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from runbook.cli.main import main

    monkeypatch.setenv("RUNBOOK_WORKER_LIMIT", "lots")
    with pytest.raises(SystemExit) as exited:
        main(["db", "check"])
    assert exited.value.code == 7
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: RUNBOOK_WORKER_LIMIT: Input should be a valid integer, unable to parse string "
        "as an integer (got 'lots')"
    )


def test_the_worker_process_refuses_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    env = child_environment({"RUNBOOK_WORKER_SCHEDULER": "sometimes", "RUNBOOK_HOME": str(tmp_path)})
    done = subprocess.run(
        [sys.executable, "-m", "flows.worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 7
    assert done.stderr.strip().startswith("error: RUNBOOK_WORKER_SCHEDULER: Input should be a valid boolean")
    assert "Traceback" not in done.stderr


# -- secrets named in channels.yaml ----------------------------------------------------------------


def test_read_secret_from_a_variable_or_a_file_and_one_line_when_missing(tmp_path: Path) -> None:
    assert read_secret(env="TOKEN", environ={"TOKEN": " abc \n"}).get_secret_value() == "abc"
    secret_file = tmp_path / "token"
    secret_file.write_text("line-one\nline-two\n")
    assert read_secret(file=secret_file).get_secret_value() == "line-one"
    with pytest.raises(ConfigurationError, match="^environment variable TOKEN is not set$"):
        read_secret(env="TOKEN", environ={})
    with pytest.raises(ConfigurationError, match="^cannot read secret file .*missing"):
        read_secret(file=tmp_path / "missing")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigurationError, match="is empty$"):
        read_secret(file=tmp_path / "empty")


def test_channel_secrets_resolve_through_settings_and_fail_as_configuration_errors(tmp_path: Path) -> None:
    from runbook.channels.config import AccountConfig, ConfigError, RemoteQueueConfig

    account = AccountConfig(brand="b", channel="c", handle="h", token_env="BSKY_PASSWORD")
    assert account.secret(environ={"BSKY_PASSWORD": "pw"}).get_secret_value() == "pw"
    queue = RemoteQueueConfig(kind="buffer", brand="b", token_file=tmp_path / "absent")
    with pytest.raises(ConfigError, match="cannot read secret file") as caught:
        queue.secret()
    assert isinstance(caught.value, ConfigurationError) and isinstance(caught.value, ValueError)
    with pytest.raises(ConfigError, match="no api_key configured"):
        queue.secret("api_key")


def test_export_defaults_keeps_a_set_variable_and_fills_an_empty_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_TEST_KEPT", "mine")
    monkeypatch.setenv("RUNBOOK_TEST_EMPTY", "")
    monkeypatch.delenv("RUNBOOK_TEST_UNSET", raising=False)
    export_defaults({"RUNBOOK_TEST_KEPT": "default", "RUNBOOK_TEST_EMPTY": "filled", "RUNBOOK_TEST_UNSET": "new"})
    env = child_environment()
    assert (env["RUNBOOK_TEST_KEPT"], env["RUNBOOK_TEST_EMPTY"], env["RUNBOOK_TEST_UNSET"]) == ("mine", "filled", "new")
    monkeypatch.delenv("RUNBOOK_TEST_UNSET")


# -- (c) nothing but runbook/settings.py reads the environment -------------------------------------

ENVIRONMENT = {"environ", "environb", "getenv", "getenvb"}


def environment_reads(source: str) -> list[int]:
    """Line numbers where `source` reads the process environment. Allowed: setting a variable for
    child processes (`os.environ[K] = V`, `os.environ.update(...)`); everything else that touches
    os.environ (get, [K], in, copies, setdefault) or os.getenv / os.environb counts as a read."""
    tree = ast.parse(source)
    writes: set[int] = set()
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update":
            writes.add(id(node.func.value))
        writes.update(id(t.value) for t in targets if isinstance(t, ast.Subscript))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and id(node) not in writes
        ):
            found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and {a.name for a in node.names} & ENVIRONMENT:
            found.append(node.lineno)
    return sorted(found)


def test_the_check_sees_reads_and_lets_writes_pass() -> None:
    planted = """
import os
from os import getenv
a = os.environ.get("RUNBOOK_X")
b = os.environ["RUNBOOK_X"]
c = {**os.environ}
d = "X" in os.environ
os.environ.setdefault("X", "1")
e = os.getenv("X")
def later():
    return os.environ.get("LAZY")
os.environ["PREFECT_API_URL"] = "http://x"
os.environ.update({"RUNBOOK_HOME": "/h"})
self.environ = {}
"""
    assert environment_reads(planted) == [3, 4, 5, 6, 7, 8, 9, 11]


def test_no_module_but_settings_reads_the_environment() -> None:
    offenders = []
    for path in sorted([*(ROOT / "runbook").rglob("*.py"), *(ROOT / "flows").rglob("*.py")]):
        if path == ROOT / "runbook" / "settings.py":
            continue
        for line in environment_reads(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, "read the environment through runbook.settings instead: " + ", ".join(offenders)


def test_replace_changes_the_named_settings_only_and_validates_them() -> None:
    base = Settings({"RUNBOOK_HOME": "/srv/state", "RUNBOOK_WORKER_LIMIT": "3"})
    changed = base.replace(slack_api_url="http://127.0.0.1:9/api/", roster=Path("other.yaml"))
    assert changed.slack.api_url == "http://127.0.0.1:9/api/" and changed.paths.roster == Path("other.yaml")
    assert changed.paths.home == Path("/srv/state") and changed.worker.limit == 3
    assert base.slack.api_url is None and base.paths.roster is None  # the original is untouched
    with pytest.raises(ConfigurationError, match="replace\\(limit=...\\)"):
        base.replace(worker_limit="four")
    with pytest.raises(TypeError, match="no setting 'colour'"):
        base.replace(colour="red")
