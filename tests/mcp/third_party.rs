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
