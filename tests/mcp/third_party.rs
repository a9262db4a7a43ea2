//! Real third-party MCP servers, installed from their registries by .ci/run
//! (`.ci/install-mcp-servers`): @modelcontextprotocol/server-everything (npm) and mcp-server-time
//! (PyPI). Each is listed, called with real arguments through the agent loop, and made to fail.

use realtime_agent::mcp::{McpClient, McpServer};

use super::support::{Scratch, installed, round_trip};

fn everything(scratch: &Scratch) -> McpServer {
    scratch.isolate(
        McpServer::stdio(
            installed("node_modules/.bin/mcp-server-everything")
                .display()
                .to_string(),
        )
        .name("everything"),
    )
}

fn time(scratch: &Scratch) -> McpServer {
    scratch.isolate(
        McpServer::stdio(installed("venv/bin/mcp-server-time").display().to_string())
            .name("time")
            // A fixed local zone: the server would otherwise ask the machine.
            .args(["--local-timezone", "Etc/UTC"]),
    )
}

async fn names(server: McpServer) -> Vec<String> {
    let client = McpClient::start(server, None);
    let tools = client
        .first_listing()
        .await
        .expect("the server lists its tools");
    client.shutdown().await;
    tools.iter().map(|t| t.name.to_string()).collect()
}

/// server-everything lists its tools, among them echo and get-sum.
#[tokio::test]
async fn everything_lists_its_tools() {
    let scratch = Scratch::new();
    let names = names(everything(&scratch)).await;
    for expected in ["echo", "get-sum", "get-env", "get-tiny-image"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}

/// server-everything's echo and get-sum answer through the agent loop.
#[tokio::test]
async fn everything_answers_calls() {
    let scratch = Scratch::new();
    let output = round_trip(
        |b| b.mcp_server(everything(&scratch)),
        "echo",
        serde_json::json!({"message": "hi from the agent"}),
    )
    .await;
    assert_eq!(output, "Echo: hi from the agent");
    let output = round_trip(
        |b| b.mcp_server(everything(&scratch)),
        "get-sum",
        serde_json::json!({"a": 2, "b": 40}),
    )
    .await;
    assert_eq!(output, "The sum of 2 and 40 is 42.");
}

/// server-everything's `get-env` shows that the API key is not in its environment.
#[tokio::test]
async fn everything_never_sees_the_api_key() {
    let scratch = Scratch::new();
    let output = round_trip(
        |b| b.mcp_server(everything(&scratch)),
        "get-env",
        serde_json::json!({}),
    )
    .await;
    assert!(output.contains("\"HOME\""), "{output}");
    assert!(!output.contains("OPENAI_API_KEY"), "{output}");
}

/// server-everything refuses arguments that break its schema: a failure output.
#[tokio::test]
async fn everything_reports_an_error() {
    let scratch = Scratch::new();
    let output = round_trip(
        |b| b.mcp_server(everything(&scratch)),
        "get-sum",
        serde_json::json!({"a": "two"}),
    )
    .await;
    let parsed: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(parsed["error"], "tool_error", "{output}");
    assert!(
        parsed["message"]
            .as_str()
            .unwrap()
            .starts_with("get-sum failed: "),
        "{output}"
    );
}

/// mcp-server-time lists get_current_time and convert_time.
#[tokio::test]
async fn time_lists_its_tools() {
    let scratch = Scratch::new();
    assert_eq!(
        names(time(&scratch)).await,
        ["get_current_time", "convert_time"]
    );
}

/// mcp-server-time converts a time between zones through the agent loop.
#[tokio::test]
async fn time_answers_calls() {
    let scratch = Scratch::new();
    let output = round_trip(
        |b| b.mcp_server(time(&scratch)),
        "convert_time",
        serde_json::json!({"source_timezone": "Europe/Paris", "time": "14:30", "target_timezone": "Asia/Tokyo"}),
    )
    .await;
    let parsed: serde_json::Value = serde_json::from_str(&output).expect("the answer is JSON");
    assert_eq!(parsed["source"]["timezone"], "Europe/Paris", "{output}");
    assert_eq!(parsed["target"]["timezone"], "Asia/Tokyo", "{output}");
    assert!(
        parsed["target"]["datetime"]
            .as_str()
            .unwrap()
            .contains("T2"),
        "{output}"
    );
}

/// mcp-server-time refuses an unknown zone: a failure output naming it.
#[tokio::test]
async fn time_reports_an_error() {
    let scratch = Scratch::new();
    let output = round_trip(
        |b| b.mcp_server(time(&scratch)),
        "get_current_time",
        serde_json::json!({"timezone": "Mars/Olympus_Mons"}),
    )
    .await;
    let parsed: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(parsed["error"], "tool_error", "{output}");
    assert!(
        parsed["message"]
            .as_str()
            .unwrap()
            .contains("Mars/Olympus_Mons"),
        "{output}"
    );
}

/// server-everything in its streamable HTTP mode, on a free port of this machine; stopped when
/// dropped.
struct HttpEverything {
    child: tokio::process::Child,
    port: u16,
}

impl HttpEverything {
    /// Starts it and waits until it listens. The port is found free first; one taken in
    /// between (the server then exits with EADDRINUSE) is tried again with another.
    async fn start(scratch: &Scratch) -> HttpEverything {
        use tokio::io::AsyncBufReadExt as _;
        let program = installed("node_modules/.bin/mcp-server-everything");
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut child = tokio::process::Command::new(&program)
                .arg("streamableHttp")
                .env("PORT", port.to_string())
                .env("HOME", scratch.path().join("home"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("server-everything starts");
            let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
            let listening = format!("listening on port {port}");
            let up = tokio::time::timeout(super::support::WAIT, async {
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.contains(&listening) {
                        return true;
                    }
                }
                false
            })
            .await
            .unwrap_or(false);
            if up {
                // Keep reading its log so that it never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return HttpEverything { child, port };
            }
            let _ = child.kill().await;
        }
        panic!("server-everything (streamableHttp) did not start listening");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }
}

impl Drop for HttpEverything {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// One piped `agent --text` turn against the fake server, with `[[mcp]] url = …` and a bearer
/// token from `MCP_TOKEN`: the model calls `name` with `arguments`. Returns the server, the
/// run's stdout and stderr, and the function_call_output.
async fn http_round_trip(
    scratch: &Scratch,
    mcp_url: &str,
    name: &str,
    arguments: serde_json::Value,
) -> (realtime_agent::testing::FakeServer, String) {
    use realtime_agent::testing::{FakeServer, Reply};
    let config = scratch.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[agent]\ninstructions = \"Test agent.\"\n\n[[mcp]]\nname = \"everything\"\n\
             url = \"{mcp_url}\"\nbearer_token_env = \"MCP_TOKEN\"\ntools = [\"echo\", \"get-sum\"]\n"
        ),
    )
    .unwrap();
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_h1", name, arguments))
        .reply(Reply::text("Done."))
        .start()
        .await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent"))
        .args(["--text", "--url", &server.url(), "--config"])
        .arg(&config)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", scratch.path().join("home"))
        .env("MCP_TOKEN", "mcp-bearer-token-for-the-test")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the agent starts");
    let mut child = output;
    {
        use tokio::io::AsyncWriteExt as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").await.unwrap();
    }
    let run = tokio::time::timeout(super::support::WAIT, child.wait_with_output())
        .await
        .expect("the agent ends")
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    assert!(
        !stderr.contains("mcp-bearer-token-for-the-test")
            && !String::from_utf8_lossy(&run.stdout).contains("mcp-bearer-token-for-the-test")
    );
    let updates = super::support::wait_for_tool(&server, name).await;
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
    let outputs = super::support::outputs(&server);
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(outputs[0].0, "call_h1");
    let output = outputs[0].1.clone();
    (server, output)
}

/// server-everything over streamable HTTP (`[[mcp]] url`, bearer token from the environment):
/// its tools are listed into the session, echo and get-sum answer real arguments through the
/// agent loop, and arguments that break get-sum's schema come back as a failure output.
#[tokio::test]
async fn everything_over_streamable_http() {
    let scratch = Scratch::new();
    let everything = HttpEverything::start(&scratch).await;

    let listed = names(McpServer::http(everything.url()).name("everything")).await;
    for expected in ["echo", "get-sum"] {
        assert!(
            listed.iter().any(|n| n == expected),
            "{expected} in {listed:?}"
        );
    }

    let (server, output) = http_round_trip(
        &scratch,
        &everything.url(),
        "echo",
        serde_json::json!({"message": "hi over HTTP"}),
    )
    .await;
    assert_eq!(output, "Echo: hi over HTTP");
    let tools = super::support::tool_names(&super::support::session_tools(&server));
    assert_eq!(tools, ["echo", "get-sum"], "the `tools` filter applies");

    let (_, output) = http_round_trip(
        &scratch,
        &everything.url(),
        "get-sum",
        serde_json::json!({"a": 2, "b": 40}),
    )
    .await;
    assert_eq!(output, "The sum of 2 and 40 is 42.");

    let (_, output) = http_round_trip(
        &scratch,
        &everything.url(),
        "get-sum",
        serde_json::json!({"a": "two"}),
    )
    .await;
    let parsed: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(parsed["error"], "tool_error", "{output}");
    assert!(
        parsed["message"]
            .as_str()
            .unwrap()
            .starts_with("get-sum failed: "),
        "{output}"
    );
}
