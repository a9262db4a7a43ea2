//! The tests' own MCP server: listing, every kind of result, failures, a crash and a hang with
//! restarts, cancellation on barge-in, a changed tool list, a name clash, the API key withheld.

use std::time::Duration;

use realtime_agent::agent::{AgentEvent, ToolStatus};
use realtime_agent::mcp::{Listing, McpClient, McpServer, McpTool};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::{DynTool, OnInterrupt, ToolContext, tool_fn_without_context};
use serde_json::json;

use super::support::{
    Scratch, WAIT, outputs, round_trip, session_tools, start, tool_names, until_idle, wait_for,
};

/// Every tool is listed under the prefix, with its schema reshaped like a Rust tool's: no
/// `$schema`, `$ref` inlined, `title` folded into `description`.
#[tokio::test]
async fn tools_are_listed_with_reshaped_schemas() {
    let scratch = Scratch::new();
    let server = FakeServer::start().await;
    let agent = start(&server, |b| {
        b.mcp_server(scratch.own_server().prefix("own_"))
    })
    .await;
    let tools = session_tools(&server);
    assert_eq!(
        tool_names(&tools),
        [
            "own_echo",
            "own_add",
            "own_fail",
            "own_reject",
            "own_sleep",
            "own_freeze",
            "own_crash",
            "own_grow",
            "own_picture",
            "own_env"
        ]
    );
    assert_eq!(
        tools[0],
        json!({"type": "function", "name": "own_echo", "description": "Echoes the text back.",
               "parameters": {"type": "object",
                              "properties": {"text": {"type": "string", "description": "What to echo."}},
                              "required": ["text"], "additionalProperties": false}})
    );
    assert_eq!(
        tools[1]["parameters"],
        json!({"type": "object",
               "properties": {"a": {"type": "number", "description": "A number"},
                              "b": {"type": "number", "description": "A number"}},
               "required": ["a", "b"]})
    );
    agent.handle.shutdown();
}

/// `tools` limits what is offered; `confirm` names the tools that wait for approval.
#[tokio::test]
async fn the_filter_and_confirm_apply() {
    let scratch = Scratch::new();
    let client = McpClient::start(
        scratch
            .own_server()
            .tools(["echo", "add"])
            .confirm(realtime_agent::mcp::McpConfirm::Tools(vec!["add".into()])),
        None,
    );
    let listed = client.first_listing().await.unwrap();
    let tools = McpTool::from_listing(&client, &listed).unwrap();
    let summary: Vec<(String, bool)> = tools
        .iter()
        .map(|t| (t.name().to_owned(), t.options().requires_approval))
        .collect();
    assert_eq!(
        summary,
        [("echo".to_owned(), false), ("add".to_owned(), true)]
    );
    client.shutdown().await;
}

/// Text content is the output, as the server wrote it.
#[tokio::test]
async fn a_text_result_is_the_output() {
    let scratch = Scratch::new();
    let output = round_trip(
        |b| b.mcp_server(scratch.own_server()),
        "echo",
        json!({"text": "hello there"}),
    )
    .await;
    assert_eq!(output, "echo: hello there");
    assert_eq!(scratch.log()[1], r#"call echo {"text":"hello there"}"#);
}

/// Structured content is the output as JSON (not the text the server repeats it in).
#[tokio::test]
async fn structured_content_is_json() {
    let scratch = Scratch::new();
    let output = round_trip(
        |b| b.mcp_server(scratch.own_server()),
        "add",
        json!({"a": 2, "b": 3.5}),
    )
    .await;
    assert_eq!(output, r#"{"sum":5.5}"#);
}

/// An image is described in words, next to the text.
#[tokio::test]
async fn other_content_is_described() {
    let scratch = Scratch::new();
    let output = round_trip(|b| b.mcp_server(scratch.own_server()), "picture", json!({})).await;
    assert_eq!(
        output,
        "here is a picture\n[an image (image/png, about 18 bytes) that cannot be shown here]"
    );
}

/// `isError` and a protocol error are failure outputs the model can act on.
#[tokio::test]
async fn errors_are_failure_outputs() {
    let scratch = Scratch::new();
    let output = round_trip(|b| b.mcp_server(scratch.own_server()), "fail", json!({})).await;
    assert_eq!(
        output,
        r#"{"error":"tool_error","message":"fail failed: it failed on purpose"}"#
    );
    let output = round_trip(|b| b.mcp_server(scratch.own_server()), "reject", json!({})).await;
    assert_eq!(
        output,
        r#"{"error":"tool_error","message":"reject failed: the MCP server \"own\" refused the call: the server refuses this call (error -32602)"}"#
    );
}

/// A stdio server does not get the API key, even when the agent's own environment has it (the
/// agent command runs with `OPENAI_API_KEY` set; the server's `env` tool reports what it got).
#[tokio::test]
async fn the_api_key_is_withheld_from_the_server() {
    let scratch = Scratch::new();
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_env", "env", json!({"name": "OPENAI_API_KEY"})))
        .reply(Reply::text("Done."))
        .reply(Reply::new().and_call_with_id("call_home", "env", json!({"name": "HOME"})))
        .reply(Reply::text("Done."))
        .start()
        .await;
    let config = scratch.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[[mcp]]\nname = \"own\"\ncommand = {:?}\nenv = {{ HOME = {:?} }}\n",
            env!("CARGO_BIN_EXE_mcp-test-server"),
            scratch.path().join("home").display().to_string()
        ),
    )
    .unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent"))
        .args(["--text", "--url", &server.url(), "--config"])
        .arg(&config)
        .env("OPENAI_API_KEY", "sk-planted-mcp-key-0123456789")
        .env("HOME", scratch.path().join("home"))
        .env("XDG_CONFIG_HOME", scratch.path().join("config"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut run = run;
    {
        use tokio::io::AsyncWriteExt as _;
        let mut stdin = run.stdin.take().unwrap();
        stdin.write_all(b"what key?\nand home?\n").await.unwrap();
    }
    let finished = tokio::time::timeout(WAIT, run.wait_with_output())
        .await
        .expect("the agent ends")
        .unwrap();
    assert!(finished.status.success(), "{finished:?}");
    let outputs = outputs(&server);
    assert_eq!(
        outputs,
        [
            ("call_env".to_owned(), "(unset)".to_owned()),
            (
                "call_home".to_owned(),
                scratch.path().join("home").display().to_string()
            ),
        ]
    );
}

/// A server that crashes mid-call: the call fails with a clear output, the user sees one line,
/// the server is restarted and the next call works.
#[tokio::test]
async fn a_crash_fails_the_call_and_the_server_restarts() {
    let scratch = Scratch::new();
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_c", "crash", json!({})))
        .reply(Reply::text("It crashed."))
        .reply(Reply::new().and_call_with_id("call_e", "echo", json!({"text": "again"})))
        .reply(Reply::text("Back."))
        .start()
        .await;
    let mut agent = start(&server, |b| b.mcp_server(scratch.own_server())).await;
    agent.handle.send_text("Crash.").await.unwrap();
    let mut seen = until_idle(&mut agent.events).await;
    // The line comes from the server's supervisor once it sees the process gone, which can be
    // after the failed call has been answered and its turn has ended.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !seen
        .iter()
        .any(|e| matches!(e, AgentEvent::McpServer { .. }))
    {
        match tokio::time::timeout_at(deadline, agent.events.recv()).await {
            Ok(Some(event)) => seen.push(event),
            _ => panic!("no line for the outage; saw {seen:#?}"),
        }
    }
    let notices: Vec<&AgentEvent> = seen
        .iter()
        .filter(|e| matches!(e, AgentEvent::McpServer { .. }))
        .collect();
    assert_eq!(notices.len(), 1, "one line for the outage: {notices:?}");
    let AgentEvent::McpServer {
        server: name,
        message,
    } = notices[0]
    else {
        unreachable!()
    };
    assert_eq!(name, "own");
    assert_eq!(
        message,
        "MCP server \"own\" stopped (the program exited, exit status: 3); restarting in 0.5s"
    );
    assert_eq!(
        outputs(&server)[0].1,
        r#"{"error":"tool_error","message":"crash failed: the MCP server \"own\" stopped during the call; it is being restarted"}"#
    );
    // Restarted after the backoff: the next call reaches the new process.
    let deadline = tokio::time::Instant::now() + WAIT;
    while scratch.log().iter().filter(|l| *l == "started").count() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "restarted: {:?}",
            scratch.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    agent.handle.send_text("Again.").await.unwrap();
    let later = until_idle(&mut agent.events).await;
    assert!(
        !later
            .iter()
            .any(|e| matches!(e, AgentEvent::McpServer { .. })),
        "one line for the outage: {later:?}"
    );
    assert_eq!(
        outputs(&server)[1],
        ("call_e".to_owned(), "echo: again".to_owned())
    );
    agent.handle.shutdown();
}

/// A call past the server's `timeout` fails with a clear output and is cancelled at the server;
/// a server that still answers pings is kept.
#[tokio::test]
async fn a_slow_call_times_out_and_is_cancelled_at_the_server() {
    let scratch = Scratch::new();
    let output = round_trip(
        |b| b.mcp_server(scratch.own_server().timeout(Duration::from_millis(300))),
        "sleep",
        json!({"ms": 10_000}),
    )
    .await;
    assert_eq!(
        output,
        r#"{"error":"tool_error","message":"sleep failed: the MCP server \"own\" did not answer within 0.3s"}"#
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while !scratch.log().contains(&"cancelled sleep".to_owned()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cancelled at the server: {:?}",
            scratch.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(scratch.log().iter().filter(|l| *l == "started").count(), 1);
}

/// A server that stops answering altogether (pings too) is restarted, with one line.
#[tokio::test]
async fn a_hung_server_is_restarted() {
    let scratch = Scratch::new();
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_f", "freeze", json!({})))
        .reply(Reply::text("Frozen."))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.mcp_server(scratch.own_server().timeout(Duration::from_millis(300)))
    })
    .await;
    agent.handle.send_text("Freeze.").await.unwrap();
    until_idle(&mut agent.events).await;
    assert_eq!(
        outputs(&server)[0].1,
        r#"{"error":"tool_error","message":"freeze failed: the MCP server \"own\" did not answer within 0.3s"}"#
    );
    let notice = wait_for(&mut agent.events, "the outage line", |e| {
        matches!(e, AgentEvent::McpServer { .. })
    })
    .await;
    let AgentEvent::McpServer { message, .. } = notice else {
        unreachable!()
    };
    assert_eq!(
        message,
        "MCP server \"own\" stopped (it stopped answering); restarting in 0.5s"
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while scratch.log().iter().filter(|l| *l == "started").count() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "restarted: {:?}",
            scratch.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    agent.handle.shutdown();
}

/// A barge-in on a `cancel` MCP tool sends `notifications/cancelled` for its request: the server
/// sees the cancellation; the model gets the cancelled output.
#[tokio::test]
async fn barge_in_cancels_the_request_at_the_server() {
    let scratch = Scratch::new();
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_s", "sleep", json!({"ms": 30_000})))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.mcp_server(scratch.own_server().on_interrupt(OnInterrupt::Cancel))
    })
    .await;
    agent.handle.send_text("Sleep.").await.unwrap();
    wait_for(&mut agent.events, "the call", |e| {
        matches!(e, AgentEvent::ToolStarted { .. })
    })
    .await;
    server
        .wait_until("response.done", WAIT, |s| s.responses_done() >= 1)
        .await;
    server.speech_started();
    wait_for(&mut agent.events, "cancelled", |e| {
        matches!(
            e,
            AgentEvent::ToolFinished {
                status: ToolStatus::Cancelled,
                ..
            }
        )
    })
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !scratch.log().contains(&"cancelled sleep".to_owned()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cancelled at the server: {:?}",
            scratch.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
        .wait_for_received("conversation.item.create", 2, WAIT)
        .await;
    assert_eq!(
        outputs(&server)[0].1,
        r#"{"error":"cancelled","message":"sleep was cancelled because the user interrupted; it may not have completed"}"#
    );
    agent.handle.shutdown();
}

/// `notifications/tools/list_changed` makes the client list again: the new tool appears.
#[tokio::test]
async fn list_changed_relists() {
    let scratch = Scratch::new();
    let client = McpClient::start(scratch.own_server(), None);
    let first = client.first_listing().await.unwrap();
    assert!(!first.iter().any(|t| t.name == "extra"));
    let mut listing = client.listing();
    listing.borrow_and_update();
    let tools = McpTool::from_listing(&client, &first).unwrap();
    let grow = tools.iter().find(|t| t.name() == "grow").unwrap();
    assert_eq!(
        grow.call_json("{}", ToolContext::standalone("c1"))
            .await
            .unwrap(),
        "grown"
    );
    tokio::time::timeout(WAIT, listing.changed())
        .await
        .unwrap()
        .unwrap();
    let Listing::Ready(_, tools) = listing.borrow().clone() else {
        panic!("listed")
    };
    assert!(tools.iter().any(|t| t.name == "extra"));
    client.shutdown().await;
}

/// A server that cannot start does not stop the session: one line says so, it is retried.
#[tokio::test]
async fn a_server_that_fails_to_start_does_not_stop_the_session() {
    let scratch = Scratch::new();
    let server = FakeServer::start().await;
    let agent = realtime_agent::agent::Agent::builder()
        .url(server.url())
        .mcp_server(scratch.own_server().env("MCP_TEST_FAIL_START", "1"))
        .mcp_server(McpServer::stdio("/nonexistent/mcp-server").name("ghost"))
        .build()
        .unwrap();
    let handle = agent.handle();
    let mut events = handle.subscribe(256);
    let task = tokio::spawn(agent.run());
    let mut lines = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("the session starts")
        {
            Some(AgentEvent::McpServer { message, .. }) => lines.push(message),
            Some(AgentEvent::Ready { .. }) => break,
            Some(_) => {}
            None => panic!("the session ended"),
        }
    }
    assert_eq!(tool_names(&session_tools(&server)), Vec::<String>::new());
    handle.shutdown();
    tokio::time::timeout(WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    lines.sort();
    assert_eq!(
        lines,
        [
            "MCP server \"ghost\": program \"/nonexistent/mcp-server\" not found (is it installed and on PATH?); retrying in 0.5s",
            "MCP server \"own\": handshake failed: the program exited (exit status: 2) during the handshake; it said: refusing to start: MCP_TEST_FAIL_START is set; retrying in 0.5s",
        ]
    );
}

/// A tool name taken by another tool fails the run, naming both origins.
#[tokio::test]
async fn a_name_clash_names_both_origins() {
    let scratch = Scratch::new();
    let server = FakeServer::start().await;
    let echo = tool_fn_without_context("echo", "Rust echo.", |_: ()| async { Ok::<_, String>("") });
    let agent = realtime_agent::agent::Agent::builder()
        .url(server.url())
        .tool(echo)
        .mcp_server(scratch.own_server().origin("agent.toml:7:8"))
        .build()
        .unwrap();
    let error = tokio::time::timeout(WAIT, agent.run())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "tool \"echo\" of MCP server \"own\" (agent.toml:7:8) collides with a tool of that name \
         registered in Rust; set `prefix` on the [[mcp]] entry, limit its `tools`, or rename the \
         other tool"
    );
}

/// The `tools` of every `session.update` the server received, as names.
fn updates(server: &FakeServer) -> Vec<Vec<String>> {
    server
        .received()
        .into_iter()
        .filter(|r| r.event_type == "session.update")
        .filter_map(|r| {
            let sent: serde_json::Value = serde_json::from_str(&r.raw).unwrap();
            let tools = &sent["session"]["tools"];
            (!tools.is_null()).then(|| tool_names(tools))
        })
        .collect()
}

/// `notifications/tools/list_changed` mid-session: the new tool reaches the registry and the
/// session together (one `session.update`), and the model can call it.
#[tokio::test]
async fn list_changed_updates_the_session() {
    let scratch = Scratch::new();
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_g", "grow", json!({})))
        .reply(Reply::text("Grown."))
        .reply(Reply::new().and_call_with_id("call_x", "extra", json!({})))
        .reply(Reply::text("Extra."))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.mcp_server(scratch.own_server().tools(["grow", "extra"]))
    })
    .await;
    assert_eq!(updates(&server), [["grow"]]);
    agent.handle.send_text("Grow.").await.unwrap();
    until_idle(&mut agent.events).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while updates(&server).len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "updated: {:?}",
            updates(&server)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(updates(&server), [vec!["grow"], vec!["grow", "extra"]]);
    agent.handle.send_text("Extra.").await.unwrap();
    until_idle(&mut agent.events).await;
    assert_eq!(
        outputs(&server),
        [
            ("call_g".to_owned(), "grown".to_owned()),
            ("call_x".to_owned(), "extra here".to_owned())
        ]
    );
    agent.handle.shutdown();
}

/// A slow server does not hold up the session: it starts without its tools, which arrive in
/// one `session.update` once the server is ready.
#[tokio::test]
async fn a_slow_server_adds_its_tools_when_ready() {
    let scratch = Scratch::new();
    let server = FakeServer::start().await;
    let begun = std::time::Instant::now();
    let agent = start(&server, |b| {
        b.mcp_server(
            scratch
                .own_server()
                .tools(["echo"])
                .env("MCP_TEST_SLOW_START_MS", "5000"),
        )
    })
    .await;
    assert!(
        begun.elapsed() < Duration::from_millis(4500),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(updates(&server), [Vec::<String>::new()]);
    let deadline = tokio::time::Instant::now() + WAIT;
    while updates(&server).len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "updated: {:?}",
            updates(&server)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(updates(&server), [vec![], vec!["echo"]]);
    agent.handle.shutdown();
}
