//! `[[tools]] kind = "hosted_mcp"` through the `agent` binary: the server's tools listed, a
//! call approved at the prompt and shown like other tool calls, the token from the environment
//! on the wire and nowhere else, and mistakes reported with line and key.

use realtime_agent::protocol::McpCallError;
use realtime_agent::testing::{FakeServer, Reply, SimulatedMcpServer};
use serde_json::{Value, json};

use super::support::{Scratch, refused};

const TOKEN: &str = "docs-token-planted-cli-8086";

const HOSTED_TOML: &str = r#"
[agent]
instructions = "Test agent."

[[tools]]
kind = "hosted_mcp"
server_label = "docs"
server_url = "https://mcp.example.com/mcp"
allowed_tools = ["search", "delete"]
require_approval = { never = ["delete"] }
authorization_env = "DOCS_TOKEN"
"#;

fn docs_server() -> SimulatedMcpServer {
    SimulatedMcpServer::new("docs")
        .tool(
            "search",
            "Searches the docs.",
            json!({"type": "object"}),
            "3 pages found",
        )
        .failing_tool(
            "delete",
            "Deletes a page.",
            json!({"type": "object"}),
            McpCallError::new("tool_execution_error", "the docs are read-only"),
        )
        .requires_authorization(TOKEN)
}

/// A piped text conversation: the listing is noted, the call that needs approval is approved
/// by the next stdin line, both hosted calls and their results are shown like tool calls, and
/// the token from `authorization_env` is on the wire.
#[tokio::test]
async fn text_mode_shows_hosted_calls_and_approves_at_the_prompt() {
    let scratch = Scratch::new();
    let config = scratch.config(HOSTED_TOML);
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .reply(Reply::mcp_call("docs", "search", json!({"q": "refunds"})))
        .reply(
            Reply::mcp_call("docs", "delete", json!({"page": 7}))
                .and_text("I found 3 pages but could not delete one."),
        )
        .start()
        .await;
    let url = server.url();
    let run = scratch
        .run(
            &[
                "--text",
                "--url",
                &url,
                "--config",
                config.to_str().unwrap(),
            ],
            "search the docs\ny\n",
            &[("DOCS_TOKEN", TOKEN)],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        "  → docs.search {\"q\":\"refunds\"}\n  \
         ← docs.search: 3 pages found\n  \
         → docs.delete {\"page\":7}\n  \
         ✗ docs.delete failed: tool_execution_error: the docs are read-only\n\
         assistant: I found 3 pages but could not delete one.\n"
    );
    assert!(
        run.stderr
            .contains("hosted MCP server \"docs\": 2 tools (search, delete)\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("? allow docs.search {\"q\":\"refunds\"}? [y/N] y\n"),
        "{}",
        run.stderr
    );
    let update = server
        .received()
        .into_iter()
        .find(|r| r.event_type == "session.update")
        .unwrap();
    let update: Value = serde_json::from_str(&update.raw).unwrap();
    assert_eq!(update["session"]["tools"][0]["authorization"], TOKEN);
    assert_eq!(
        update["session"]["tools"][0]["require_approval"],
        json!({"never": {"tool_names": ["delete"]}})
    );
    assert_eq!(server.count_received("response.create"), 2);
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
}

/// At `RUST_LOG=trace`, with every frame recorded, the token is in no output and no record;
/// `agent check` and `agent tools` show the server and the variable, never the value.
#[tokio::test]
async fn the_token_is_never_shown() {
    let scratch = Scratch::new();
    let config = scratch.config(HOSTED_TOML);
    let config = config.to_str().unwrap();
    let record = scratch.path("session.jsonl");
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .reply(Reply::mcp_call("docs", "delete", json!({"page": 1})).and_text("No."))
        .start()
        .await;
    let url = server.url();
    let env = [("DOCS_TOKEN", TOKEN), ("RUST_LOG", "trace")];
    let run = scratch
        .run(
            &[
                "--text",
                "--url",
                &url,
                "--config",
                config,
                "--record",
                record.to_str().unwrap(),
            ],
            "delete page 1\n",
            &env,
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"));
    let update = server
        .received()
        .into_iter()
        .find(|r| r.event_type == "session.update")
        .unwrap();
    assert!(
        update.raw.contains(TOKEN),
        "the token does reach the server"
    );
    let recorded = std::fs::read_to_string(&record).unwrap();
    assert!(recorded.contains("\"authorization\":\"***\""), "{recorded}");
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("the record", &recorded),
    ] {
        assert!(!text.contains(TOKEN), "the token is in {what}:\n{text}");
    }

    let check = scratch
        .run(&["check", "--config", config], "", &[("DOCS_TOKEN", TOKEN)])
        .await;
    assert_eq!(check.code, 0, "{check:#?}");
    assert!(
        check.stdout.contains(
            "hosted mcp servers (1):\n  docs            hosted mcp \
             https://mcp.example.com/mcp, authorization from DOCS_TOKEN (set)\n"
        ),
        "{}",
        check.stdout
    );
    let tools = scratch
        .run(&["tools", "--config", config], "", &[("DOCS_TOKEN", TOKEN)])
        .await;
    assert_eq!(tools.code, 0, "{tools:#?}");
    let listed: Value = serde_json::from_str(&tools.stdout).unwrap();
    assert_eq!(
        listed,
        json!([{
            "type": "mcp",
            "server_label": "docs",
            "server_url": "https://mcp.example.com/mcp",
            "authorization": "***",
            "allowed_tools": ["search", "delete"],
            "require_approval": {"never": {"tool_names": ["delete"]}},
        }])
    );
    for run in [&check, &tools] {
        assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    }
    // Unset, `agent check` warns and a session does not start.
    let unset = scratch.run(&["check", "--config", config], "", &[]).await;
    assert!(
        unset.stdout.contains(
            "warning: hosted MCP server \"docs\": environment variable DOCS_TOKEN \
             (authorization_env) is not set"
        ),
        "{unset:#?}"
    );
    let refused = scratch
        .run(&["--text", "--url", &url, "--config", config], "hi\n", &[])
        .await;
    assert_eq!(refused.code, 3, "{refused:#?}");
    assert!(
        refused.stderr.contains(
            "hosted MCP server \"docs\": the variable DOCS_TOKEN (authorization_env) is not set"
        ),
        "{refused:#?}"
    );
}

/// Both `server_url` and `connector_id`, neither, the beta interface, a wrong approval word,
/// a token instead of a variable name, another kind's key: each named with line, column and
/// key.
#[tokio::test]
async fn hosted_mcp_mistakes_name_line_and_key() {
    let entry = "[[tools]]\nkind = \"hosted_mcp\"\nserver_label = \"docs\"\n";
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "{entry}server_url = \"https://x.example/mcp\"\nconnector_id = \"connector_x\"\n"
            ),
            "5:16: `tools[0].connector_id`: give `server_url` or `connector_id`, not both",
        ),
        (
            entry.to_owned(),
            "1:1: `tools[0].server_url`: missing `server_url` or `connector_id`: say which MCP \
             server the API calls (server_url = \"https://…\", or connector_id = \"connector_…\")",
        ),
        (
            format!("[agent]\napi = \"beta\"\n\n{entry}connector_id = \"connector_x\"\n"),
            "5:8: `tools[0].kind`: hosted MCP needs the GA interface: the beta interface \
             (api = \"beta\") has no MCP tools; remove `api = \"beta\"` or this entry",
        ),
        (
            format!("{entry}connector_id = \"connector_x\"\nrequire_approval = \"sometimes\"\n"),
            "5:20: `tools[0].require_approval`: \"sometimes\" is not a choice: use \"always\", \
             \"never\", or a table { always = [\"tool\", …], never = [\"tool\", …] }",
        ),
        (
            format!("{entry}connector_id = \"connector_x\"\nauthorization_env = \"tok-123 abc\"\n"),
            "5:21: `tools[0].authorization_env`: \"tok-123 abc\" is not an environment variable \
             name: give the name of the variable that holds the token, never the token itself",
        ),
        (
            format!("{entry}connector_id = \"connector_x\"\nprogram = \"x\"\n"),
            "5:1: `tools[0].program`: `program` is a setting of the agent's own tools (kind = \
             \"command\" or \"http\"); this entry is kind = \"hosted_mcp\"",
        ),
    ];
    for (text, expected) in &cases {
        let first = refused(text).await;
        assert_eq!(first, *expected, "for\n{text}");
    }
}
