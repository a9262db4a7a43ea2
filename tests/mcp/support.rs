#![allow(dead_code)] // each test file uses a part
//! Shared helpers: the tests' own server, the installed third-party servers, an agent on the
//! fake server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use realtime_agent::agent::AgentBuilder;
use realtime_agent::mcp::McpServer;
use realtime_agent::testing::FakeServer;

/// How long a server may take to start and answer: generous, since the public servers start
/// through npx and Python, which is slow on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// A scratch directory: the started programs' HOME and XDG dirs, and the server's log.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for sub in ["home", "config", "cache", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Scratch { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `server` with a HOME and XDG dirs of its own.
    pub fn isolate(&self, server: McpServer) -> McpServer {
        let p = self.path();
        server
            .env("HOME", p.join("home").display().to_string())
            .env("XDG_CONFIG_HOME", p.join("config").display().to_string())
            .env("XDG_CACHE_HOME", p.join("cache").display().to_string())
            .env("XDG_DATA_HOME", p.join("data").display().to_string())
            .env("npm_config_cache", p.join("cache").display().to_string())
    }

    /// The tests' own server, logging to `log`.
    pub fn own_server(&self) -> McpServer {
        self.isolate(
            McpServer::stdio(env!("CARGO_BIN_EXE_mcp-test-server"))
                .name("own")
                .env("MCP_TEST_LOG", self.log_path().display().to_string()),
        )
    }

    pub fn log_path(&self) -> PathBuf {
        self.path().join("server.log")
    }

    /// The lines the own server logged.
    pub fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Where .ci/run installs the third-party servers (`tests/servers/`), or `MCP_SERVERS_DIR`.
pub fn servers_dir() -> PathBuf {
    std::env::var_os("MCP_SERVERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers"))
}

/// An installed third-party server's program; a missing one fails the test with the command that
/// installs it.
pub fn installed(relative: &str) -> PathBuf {
    let path = servers_dir().join(relative);
    assert!(
        path.exists(),
        "{} is not installed: run `bash .ci/install-mcp-servers` (CI does this in .ci/run)",
        path.display()
    );
    path
}

// Starting an agent and reading its events is the same as in the agent tests.
#[path = "../agent/support.rs"]
mod shared;
pub use shared::{outputs, start, until_idle, wait_for};

/// The `tools` of the first `session.update`, as JSON.
pub fn session_tools(server: &FakeServer) -> serde_json::Value {
    let update = server
        .received()
        .into_iter()
        .find(|r| r.event_type == "session.update")
        .expect("the session was configured");
    let sent: serde_json::Value = serde_json::from_str(&update.raw).unwrap();
    sent["session"]["tools"].clone()
}

/// The model-visible names in `tools`.
pub fn tool_names(tools: &serde_json::Value) -> Vec<String> {
    tools
        .as_array()
        .expect("tools is an array")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// One call of `name` with `arguments` through the agent loop: the model asks, the agent calls
/// the MCP server, posts its output, and asks for exactly one follow-up response. Returns the
/// output.
pub async fn round_trip(
    build: impl FnOnce(AgentBuilder) -> AgentBuilder,
    name: &str,
    arguments: serde_json::Value,
) -> String {
    use realtime_agent::testing::Reply;
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_m1", name, arguments))
        .reply(Reply::text("Done."))
        .start()
        .await;
    let mut agent = start(&server, build).await;
    // A server slower than the agent's start adds its tools with a second session.update.
    let updates = wait_for_tool(&server, name).await;
    agent.handle.send_text("Go.").await.unwrap();
    until_idle(&mut agent.events).await;
    let mut expected = vec!["session.update"; updates];
    expected.extend([
        "conversation.item.create",
        "response.create",
        "conversation.item.create",
        "response.create",
    ]);
    assert_eq!(
        server.received_types(),
        expected,
        "the output, then exactly one response.create"
    );
    let outputs = outputs(&server);
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(outputs[0].0, "call_m1");
    agent.handle.shutdown();
    let _ = tokio::time::timeout(WAIT, agent.task).await;
    outputs[0].1.clone()
}

/// Waits until a `session.update` offers `name`; returns how many updates were sent by then.
pub async fn wait_for_tool(server: &FakeServer, name: &str) -> usize {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let updates: Vec<serde_json::Value> = server
            .received()
            .into_iter()
            .filter(|r| r.event_type == "session.update")
            .map(|r| serde_json::from_str(&r.raw).unwrap())
            .collect();
        let offered = updates.iter().any(|u| {
            u["session"]["tools"]
                .as_array()
                .is_some_and(|tools| tools.iter().any(|t| t["name"] == name))
        });
        if offered {
            return updates.len();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no session.update offered {name}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
