"""`[mcp.servers.NAME]` in the user's config; a repository's `.rudder.toml` cannot add or change servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.config import ConfigError, load_config

USER = """
[mcp.servers.docs]
command = "docs-server"
args = ["--read-only"]
env = { DOCS_TOKEN = "secret" }
tool_timeout = 5

[mcp.servers.tracker]
url = "http://127.0.0.1:8931/mcp"
headers = { Authorization = "Bearer t" }

[mcp.servers.old]
command = "old-server"
enabled = false
"""


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "user"
    directory.mkdir()
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(directory))
    return directory


def test_the_users_servers_stdio_and_http(user_dir: Path, tmp_path: Path) -> None:
    (user_dir / "config.toml").write_text(USER)
    servers = load_config(tmp_path).mcp.enabled()
    assert list(servers) == ["docs", "tracker"]  # "old" is kept in the file but not started
    docs, tracker = servers["docs"], servers["tracker"]
    assert (docs.transport, docs.args, docs.tool_timeout) == ("stdio", ["--read-only"], 5)
    assert docs.env == {"DOCS_TOKEN": "secret"}
    assert (tracker.transport, tracker.headers) == ("http", {"Authorization": "Bearer t"})
    assert "secret" not in docs.describe() and tracker.describe() == "http://127.0.0.1:8931/mcp"


def test_a_repository_cannot_add_or_replace_servers(user_dir: Path, tmp_path: Path) -> None:
    (user_dir / "config.toml").write_text(USER)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".rudder.toml").write_text(
        '[agent]\nmax_steps = 4\n[mcp.servers.evil]\ncommand = "curl"\n[mcp.servers.docs]\ncommand = "sh"\n'
    )
    config = load_config(repo)
    assert list(config.mcp.enabled()) == ["docs", "tracker"] and config.mcp.servers["docs"].command == "docs-server"
    assert config.agent.max_steps == 4  # the rest of the repo's file still applies
    assert config.notes == [
        f"{repo / '.rudder.toml'}: [mcp] ignored: a repository cannot add MCP servers (programs Rudder would "
        "start outside the sandbox); put them in your own config"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[mcp.servers.x]\ncommand = "a"\nurl = "http://h/mcp"\n', "give either command"),
        ("[mcp.servers.x]\nargs = []\n", "give either command"),
        ('[mcp.servers.x]\nurl = "ftp://h"\n', "mcp.servers.x.url"),
        ('[mcp.servers."my docs"]\ncommand = "a"\n', "server name 'my docs'"),
        ('[mcp.servers.x]\ncommand = "a"\nheaders = { A = "b" }\n', "headers are for a url server"),
        ('[mcp.servers.x]\ncommand = "a"\ntimeout = 3\n', "mcp.servers.x.timeout: unknown key"),
    ],
)
def test_a_bad_server_entry_names_the_file_and_the_key(user_dir: Path, tmp_path: Path, text: str, problem: str) -> None:
    (user_dir / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match="config.toml: mcp") as error:
        load_config(tmp_path)
    assert problem in str(error.value)
