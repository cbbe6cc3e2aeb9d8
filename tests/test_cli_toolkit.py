"""The one CLI toolkit (civic_ledger.clikit) that every command group uses.

Against a real API served over loopback HTTP (LiveServer) on the embedded chain: the password
rule, ``--as`` by keystore name and by file, the error format of an API 4xx, a refused
connection, ``--json``, and a sweep of every command's ``--help``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from eth_account import Account
from typer.testing import CliRunner

from civic_ledger.cli import app
from civic_ledger.clikit import ALIASES, signer
from civic_ledger.identity.keys import create_keystore, create_keystore_file
from tests.conftest import LiveServer, free_port, started_platform

PASSWORD = "right horse battery"
NON_CANONICAL = re.compile(
    r"(?<![\w-])(--keystore|--registrar-keystore|--admin-keystore|--awarder-keystore|--new-keystore|--rpc|-k|-a|-r)"
    r"(?![\w-])"
)
# Commands that print no data (a server, or a file written and its path named on stderr).
NO_JSON = {"serve", "credentials disclose", "credentials present", "credentials qr"}


@dataclass
class Env:
    url: str
    data: Path
    admin: str  # the operator's address (DEFAULT_ADMIN_ROLE), in keystore "admin"
    admin_file: Path  # the same key in a keystore file outside the data directory


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("clikit")
    with started_platform("embedded", root / "chain") as platform, LiveServer(platform) as server:
        data = root / "cli"
        operator = platform.operator
        create_keystore(data, "admin", PASSWORD, private_key=operator.key, scrypt_n=2)
        file = root / "elsewhere" / "operator.json"
        create_keystore_file(file, PASSWORD, private_key=operator.key, scrypt_n=2)
        yield Env(server.url, data, operator.address, file)


def run(*args: str, env_vars: dict[str, str | None] | None = None, stdin: str | None = None) -> Any:
    base: dict[str, str | None] = {"CIVIC_KEYSTORE_PASSWORD": None, "CIVIC_TOKEN": None, "CIVIC_API_URL": None}
    return CliRunner().invoke(app, list(args), env={**base, **(env_vars or {})}, input=stdin)


def login(env: Env, *extra: str, **kw: Any) -> Any:
    return run("identity", "login", "--api", env.url, "--data-dir", str(env.data), *extra, **kw)


def one_error_line(result: Any) -> str:
    """The run failed with exit 1, nothing on stdout, one ``error:`` line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


# -- the password rule: --password, then CIVIC_KEYSTORE_PASSWORD, then a prompt on a terminal -------


def test_the_password_flag_beats_the_environment(env: Env) -> None:
    result = login(env, "--as", "admin", "--password", PASSWORD, env_vars={"CIVIC_KEYSTORE_PASSWORD": "wrong"})
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() and "signed in" in result.stderr  # the token on stdout, who on stderr
    wrong = login(env, "--as", "admin", "--password", "wrong", env_vars={"CIVIC_KEYSTORE_PASSWORD": PASSWORD})
    assert "wrong password" in one_error_line(wrong)


def test_the_environment_beats_the_prompt(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signer, "stdin_is_terminal", lambda: True)
    result = login(env, "--as", "admin", env_vars={"CIVIC_KEYSTORE_PASSWORD": PASSWORD}, stdin="wrong\n")
    assert result.exit_code == 0, result.output
    assert "password of" not in result.output  # never asked


def test_the_prompt_is_used_on_a_terminal_when_nothing_else_is_given(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signer, "stdin_is_terminal", lambda: True)
    result = login(env, "--as", "admin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "password of keystore 'admin'" in result.stderr and PASSWORD not in result.output  # hidden input


def test_no_terminal_and_no_password_is_a_clear_error_not_a_traceback(env: Env) -> None:
    line = one_error_line(login(env, "--as", "admin"))
    assert line == (
        "error: no password for keystore 'admin': pass --password or set CIVIC_KEYSTORE_PASSWORD "
        "(stdin is not a terminal to ask it)"
    )


# -- --as NAME|PATH ------------------------------------------------------------------------------


def test_as_takes_a_keystore_name_or_a_keystore_file(env: Env) -> None:
    for who in ("admin", str(env.admin_file)):
        result = login(env, "--as", who, "--password", PASSWORD, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["address"] == env.admin
    missing = one_error_line(login(env, "--as", "bob", "--password", PASSWORD))
    assert "no keystore named 'bob'" in missing and "known: admin" in missing
    gone = one_error_line(login(env, "--as", str(env.admin_file.with_name("nope.json")), "--password", PASSWORD))
    assert "keystore file" in gone and "nope.json does not exist" in gone


def test_the_old_signer_spellings_still_work_but_are_not_shown(env: Env) -> None:
    for old in ("--keystore", "-k", "--admin-keystore", "-a"):
        result = login(env, old, "admin", "--password", PASSWORD, "--json")
        assert result.exit_code == 0, (old, result.output)
        assert json.loads(result.stdout)["address"] == env.admin
    assert ALIASES["--registrar-keystore"] == ALIASES["--awarder-keystore"] == "--as"
    assert ALIASES["--rpc"] == "--rpc-url"


def test_an_admin_command_signs_in_with_as_or_takes_a_token_else_says_how(env: Env) -> None:
    agency = Account.create().address
    common = ["--api", env.url, "--data-dir", str(env.data), "--password", PASSWORD]
    granted = run("roles", "grant", "MVoting", "POLL_ADMIN_ROLE", agency, "--as", "admin", *common, "--json")
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.output)["account"] == agency
    token = login(env, "--as", "admin", "--password", PASSWORD).stdout.strip()
    revoked = run("roles", "revoke", "MVoting", "POLL_ADMIN_ROLE", agency, "--api", env.url, "--json",
                  env_vars={"CIVIC_TOKEN": token})  # fmt: skip
    assert revoked.exit_code == 0, revoked.output
    line = one_error_line(run("roles", "grant", "MVoting", "POLL_ADMIN_ROLE", agency, "--api", env.url))
    assert "pass --as NAME|PATH" in line and "--token" in line


# -- errors: one format ----------------------------------------------------------------------------


def test_an_api_4xx_is_one_line_with_the_message_status_and_code(env: Env) -> None:
    line = one_error_line(run("voting", "show", "9999", "--api", env.url))
    assert re.fullmatch(r"error: .*9999.* \(HTTP 404 MVotingUnknownPoll\)", line), line
    line = one_error_line(run("identity", "whoami", "--token", "not-a-token", "--api", env.url))
    assert re.fullmatch(r"error: .+ \(HTTP 401 \w+\)", line), line
    # the same format in every group: a domain error raised before any request, too
    line = one_error_line(run("payments", "fund", "1", "gold", "5", "--as", "admin", "--api", env.url))
    assert line.startswith("error: purpose 'gold': use one of")


def test_a_refused_connection_is_one_clear_line(env: Env) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for args in (["voting", "list"], ["roles", "list"], ["mileage", "policy", "show"], ["labor", "check", "0x01"]):
        line = one_error_line(run(*args, "--api", dead))
        assert line == (
            f"error: cannot reach the API at {dead} (connection refused); start it with `civic-ledger serve`, "
            "or pass --api URL (env CIVIC_API_URL)"
        ), line
    # CIVIC_API_URL is the default of --api
    assert dead in one_error_line(run("voting", "list", env_vars={"CIVIC_API_URL": dead}))


# -- --json ----------------------------------------------------------------------------------------


def test_json_output_is_only_json(env: Env) -> None:
    data = ["--data-dir", str(env.data)]
    cases: list[tuple[list[str], Any]] = [
        (["identity", "districts", "--json"], lambda v: len(v) == 25 and v[13]["name"] == "Mapo-gu"),
        (["identity", "keystore", "list", *data, "--json"], lambda v: v[0]["address"] == env.admin),
        (["roles", "list", "--api", env.url, "--json"], lambda v: {"contract", "role"} <= set(v[0])),
        (
            ["roles", "check", "MVoting", "DEFAULT_ADMIN_ROLE", "admin", *data, "--api", env.url, "--json"],
            lambda v: v["has_role"] is True,
        ),  # fmt: skip
        (["voting", "list", "--api", env.url, "--json"], lambda v: isinstance(v, list)),
        (["mileage", "policy", "show", "--api", env.url, "--json"], lambda v: "current_epoch" in v),
        (["mileage", "report", "liability", "--api", env.url, "--json"], lambda v: "total" in v),
    ]
    for args, check in cases:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        value = json.loads(result.output)  # stdout and stderr together: nothing but the JSON
        assert check(value), (args, value)


# -- every command -----------------------------------------------------------------------------------


def _commands() -> list[tuple[list[str], Any]]:
    found: list[tuple[list[str], Any]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            found.append((path, cmd))

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_has_help_with_canonical_spellings_only_and_json_when_it_prints_data() -> None:
    commands = _commands()
    assert len(commands) > 90
    for path, cmd in commands:
        name = " ".join(path)
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (name, result.output)
        shown = NON_CANONICAL.findall(result.output)
        assert not shown, f"`{name} --help` shows {shown}"
        options = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
        if name not in NO_JSON:
            assert "--json" in options, f"`{name}` prints data but has no --json"
        for old in ALIASES:
            assert old not in options, f"`{name}` declares {old}; it is a hidden alias of {ALIASES[old]}"
        if "--rpc-url" in options or "--api" in options:
            assert "--rpc" not in options


def test_the_toolkit_does_not_import_the_cli_module() -> None:
    code = "import sys, civic_ledger.clikit, civic_ledger.cli_support; assert 'civic_ledger.cli' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
