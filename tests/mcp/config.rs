//! `[[mcp]]` in agent.toml: the keys the issue names, errors with file, line and key; `agent
//! check` and `agent tools` with MCP servers.

use std::time::Duration;

use realtime_agent::config::Config;
use realtime_agent::mcp::{McpConfirm, McpServer, McpTransport};
use realtime_agent::tool::OnInterrupt;

use super::support::{Scratch, WAIT};

fn error(text: &str) -> String {
    Config::parse(text, "agent.toml")
        .expect_err("the configuration is refused")
        .to_string()
}

/// Every key of a stdio and an HTTP entry reaches the server's settings.
#[test]
fn every_key_is_read() {
    let config = Config::parse(
        r#"
[[mcp]]
name = "everything"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything"]
env = { LOG_LEVEL = "debug" }
tools = ["echo", "add"]
prefix = "everything_"
confirm = ["add"]
timeout = 12.5
on_interrupt = "cancel"

[[mcp]]
name = "remote"
url = "http://127.0.0.1:3001/mcp"
bearer_token_env = "MY_MCP_TOKEN"
confirm = true
"#,
        "dir/agent.toml",
    )
    .unwrap();
    let expected = McpServer::stdio("npx")
        .args(["-y", "@modelcontextprotocol/server-everything"])
        .env("LOG_LEVEL", "debug")
        .name("everything")
        .tools(["echo", "add"])
        .prefix("everything_")
        .confirm(McpConfirm::Tools(vec!["add".into()]))
        .timeout(Duration::from_secs_f64(12.5))
        .on_interrupt(OnInterrupt::Cancel)
        .withhold_var("OPENAI_API_KEY")
        // The other server's bearer token is a secret too: a program never gets it.
        .withhold_var("MY_MCP_TOKEN")
        .origin("dir/agent.toml:3:8");
    assert_eq!(config.mcp[0], expected);
    let remote = &config.mcp[1];
    assert_eq!(
        remote.transport(),
        &McpTransport::Http {
            url: "http://127.0.0.1:3001/mcp".into(),
            bearer_token_env: Some("MY_MCP_TOKEN".into()),
        }
    );
    assert_eq!(remote.confirmation(), &McpConfirm::Always);
    assert_eq!(remote.declared_at(), Some("dir/agent.toml:14:8"));
}

/// Mistakes are errors naming the file, the line and column, and the key.
#[test]
fn mistakes_name_file_line_and_key() {
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\ncommand = \"x\"\ncomand = \"y\"\n"),
        "agent.toml:4:1: `mcp[0].comand`: unknown key in [[mcp]]; did you mean `command`?"
    );
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\ncommand = \"x\"\nurl = \"http://h/mcp\"\n"),
        "agent.toml:4:7: `mcp[0].url`: give `command` (a program speaking MCP on stdio) or `url` \
         (streamable HTTP), not both"
    );
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\n"),
        "agent.toml:1:1: `mcp[0].command`: missing `command` or `url`: say how to reach the \
         server (command = \"npx\" with args, or url = \"http://127.0.0.1:3001/mcp\")"
    );
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\ncommand = \"x\"\nbearer_token_env = \"T\"\n"),
        "agent.toml:4:20: `mcp[0].bearer_token_env`: `bearer_token_env` is a setting of `url` \
         servers; this one has `command`"
    );
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\nurl = \"ftp://h/mcp\"\n"),
        "agent.toml:3:7: `mcp[0].url`: the scheme must be http or https, not `ftp`"
    );
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\ncommand = \"x\"\ntools = [\"echo\"]\nconfirm = [\"add\"]\n"),
        "agent.toml:5:11: `mcp[0].confirm`: \"add\" is not in `tools`, so it is never offered"
    );
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\ncommand = \"x\"\ntimeout = 0\n"),
        "agent.toml:4:11: `mcp[0].timeout`: 0 is not a timeout: give seconds above 0, at most 86400"
    );
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\ncommand = \"x\"\non_interrupt = \"stop\"\n"),
        "agent.toml:4:16: `mcp[0].on_interrupt`: unknown value `stop`, expected `keep` or `cancel`"
    );
    assert_eq!(
        error(
            "[[mcp]]\nname = \"a\"\ncommand = \"x\"\n[[mcp]]\nname = \"a\"\nurl = \"http://h/\"\n"
        ),
        "agent.toml:5:8: `mcp[1].name`: an MCP server named \"a\" is declared twice (first at \
         agent.toml:2:8); server names must be unique"
    );
    assert_eq!(
        error("[[mcp]]\nname = \"a\"\nurl = \"http://h/\"\nbearer_token_env = \"sk-abc\"\n"),
        "agent.toml:4:20: `mcp[0].bearer_token_env`: \"sk-abc\" is not an environment variable \
         name: name the variable that holds the token, never the token itself"
    );
}

/// `agent check` starts each server, lists its tools and reports a failure plainly; `agent
/// tools` prints the MCP tools in the session's array and says which server each comes from.
#[tokio::test]
async fn check_and_tools_start_the_servers() {
    let scratch = Scratch::new();
    let config = scratch.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[[mcp]]\nname = \"own\"\ncommand = {:?}\ntools = [\"echo\", \"add\"]\nprefix = \"own_\"\n\n\
             [[mcp]]\nname = \"ghost\"\ncommand = \"/nonexistent/mcp-server\"\n",
            env!("CARGO_BIN_EXE_mcp-test-server"),
        ),
    )
    .unwrap();
    let run = |command: &'static str| {
        let config = config.clone();
        let home = scratch.path().join("home");
        async move {
            let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent"))
                .arg(command)
                .arg("--config")
                .arg(&config)
                .env("HOME", &home)
                .env_remove("OPENAI_API_KEY")
                .kill_on_drop(true)
                .output();
            tokio::time::timeout(WAIT, output).await.unwrap().unwrap()
        }
    };
    let check = run("check").await;
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{check:?}");
    let own = env!("CARGO_BIN_EXE_mcp-test-server");
    assert!(
        stdout.contains("  own_echo        mcp server \"own\", timeout 30.5 s\n"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("mcp servers (2):\n  own             {own}: ok, 2 tools\n  ghost           /nonexistent/mcp-server: FAILED (see the warning below)\n")), "{stdout}");
    assert!(
        stdout.contains("warning: MCP server \"ghost\": program \"/nonexistent/mcp-server\" not found (is it installed and on PATH?)\n"),
        "{stdout}"
    );

    let tools = run("tools").await;
    assert!(tools.status.success(), "{tools:?}");
    let printed: serde_json::Value = serde_json::from_slice(&tools.stdout).unwrap();
    assert_eq!(
        super::support::tool_names(&printed),
        ["own_echo", "own_add"]
    );
    let stderr = String::from_utf8_lossy(&tools.stderr);
    assert!(
        stderr.contains("own_echo: from MCP server \"own\"\nown_add: from MCP server \"own\"\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: MCP server \"ghost\": program"),
        "{stderr}"
    );
}
