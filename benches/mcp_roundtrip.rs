//! What an MCP tool adds to a tool round trip: the same echo tool in Rust and behind the tests'
//! own stdio MCP server (a separate process, rmcp on both ends), in one agent on a loopback fake
//! server.
//!
//! Measured from the server sending `response.function_call_arguments.done` to it receiving the
//! agent's `response.create` (after the `function_call_output`), ROUNDS (default 1,000) rounds
//! of each after 50 warm-up rounds, the two tools alternating so both see the same machine.
//!
//! Run: `cargo bench --bench mcp_roundtrip --features mcp-test-server`

use std::time::Duration;

use realtime_agent::agent::{Agent, AgentEvent, AgentEvents};
use realtime_agent::mcp::McpServer;
use realtime_agent::protocol::{Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::tool_fn_without_context;
use serde::Deserialize;

#[derive(Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    text: String,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn wait_idle(events: &mut AgentEvents) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(AgentEvent::Idle)) => return,
            Ok(Some(_)) => {}
            other => panic!("no idle: {other:?}"),
        }
    }
}

/// One round of `tool`: arguments.done sent → response.create received.
async fn round(server: &FakeServer, events: &mut AgentEvents, tool: &str) -> Duration {
    let mark = server.elapsed();
    server.start_response(Reply::call(tool, serde_json::json!({"text": "hi"})));
    wait_idle(events).await;
    let args_done = server
        .sent_since(mark)
        .iter()
        .find(|s| s.event_type == "response.function_call_arguments.done")
        .expect("the call was sent")
        .at;
    server
        .received_since(args_done)
        .iter()
        .find(|r| r.event_type == "response.create")
        .expect("the follow-up response.create arrived")
        .at
        - args_done
}

fn report(name: &str, sorted: &[Duration]) {
    println!(
        "  {name:<28} median {:7.1} µs   p99 {:7.1} µs",
        micros(percentile(sorted, 0.5)),
        micros(percentile(sorted, 0.99))
    );
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    runtime.block_on(async move {
        let server = FakeServer::builder()
            .record_payloads(false)
            .responder(|_: &realtime_agent::testing::ResponseRequest<'_>| Reply::new())
            .start()
            .await;
        let rust_echo = tool_fn_without_context("rust_echo", "Echoes.", |args: EchoArgs| async move {
            Ok::<_, String>(format!("echo: {}", args.text))
        });
        let agent = Agent::builder()
            .url(server.url())
            .session(SessionConfig {
                output_modalities: Some(vec![Modality::Text]),
                ..SessionConfig::default()
            })
            .audio_events(false)
            .tool(rust_echo)
            .mcp_server(
                McpServer::stdio(env!("CARGO_BIN_EXE_mcp-test-server"))
                    .name("own")
                    .tools(["echo"])
                    .env("HOME", home.path().display().to_string()),
            )
            .build()
            .unwrap();
        let handle = agent.handle();
        let mut events = handle.subscribe(1 << 16);
        let task = tokio::spawn(agent.run());
        loop {
            if let Some(AgentEvent::Ready { .. }) = events.recv().await {
                break;
            }
        }
        let (mut rust, mut mcp) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
        for index in 0..rounds + 50 {
            let r = round(&server, &mut events, "rust_echo").await;
            let m = round(&server, &mut events, "echo").await;
            if index >= 50 {
                rust.push(r);
                mcp.push(m);
            }
        }
        rust.sort();
        mcp.sort();
        println!("tool round trip (arguments.done sent -> response.create received), {rounds} rounds each:");
        report("Rust tool", &rust);
        report("stdio MCP tool (own server)", &mcp);
        println!(
            "  MCP overhead: median +{:.1} µs, p99 +{:.1} µs",
            micros(percentile(&mcp, 0.5)) - micros(percentile(&rust, 0.5)),
            micros(percentile(&mcp, 0.99)) - micros(percentile(&rust, 0.99))
        );
        handle.shutdown();
        let _ = task.await;
    });
}
