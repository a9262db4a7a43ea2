//! The agent loop inside another tokio application: the app connects first (a bad key or URL
//! fails here, typed), keeps doing its own work, drives the agent through the running session
//! (here: a question every time a "sensor" crosses a threshold), reads its events as a
//! `Stream` on another task, and shuts it down when done.
//!
//! Run: `cargo run --example embed`
//!
//! With `OPENAI_API_KEY` set it talks to the Realtime API (or `OPENAI_REALTIME_URL`); without
//! one it uses the built-in fake server.

use std::time::Duration;

use futures_util::StreamExt as _;
use realtime_agent::agent::{Agent, AgentEvent};
use realtime_agent::protocol::Item;
use realtime_agent::protocol::{Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply, ResponseRequest};
use realtime_agent::tool::tool_fn_without_context;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct SetFan {
    /// Fan speed from 0 (off) to 3.
    speed: u8,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A key in OPENAI_API_KEY: the Realtime API (or OPENAI_REALTIME_URL). None: a scripted
    // model on loopback that turns the fan up when asked, then says so.
    let fake = match std::env::var_os("OPENAI_API_KEY") {
        Some(_) => None,
        None => {
            println!("(no OPENAI_API_KEY: using the built-in fake server; no real model involved)");
            let model = |request: &ResponseRequest<'_>| match request.conversation.last() {
                Some(Item::FunctionCallOutput(_)) => {
                    Reply::text("The fan is on 2; it will cool down.")
                }
                _ => Reply::call("set_fan", serde_json::json!({"speed": 2})),
            };
            Some(FakeServer::builder().responder(model).start().await)
        }
    };

    // The app's own state, shared with a tool.
    let fan = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let fan_for_tool = fan.clone();
    let set_fan = tool_fn_without_context("set_fan", "Sets the fan speed.", move |args: SetFan| {
        let fan = fan_for_tool.clone();
        async move {
            let speed = args.speed.min(3);
            fan.store(speed, std::sync::atomic::Ordering::Relaxed);
            Ok::<_, String>(format!("fan set to {speed}"))
        }
    });

    // The key comes from OPENAI_API_KEY; `build` fails here, clearly, when OpenAI's endpoint
    // is used without one.
    let mut builder = Agent::builder()
        .session(SessionConfig {
            instructions: Some("You run a greenhouse. Keep replies short.".into()),
            output_modalities: Some(vec![Modality::Text]),
            ..SessionConfig::default()
        })
        .tool(set_fan);
    if let Some(server) = &fake {
        builder = builder.url(server.url()).no_api_key();
    }
    let agent = builder.build()?;
    // Subscribe before connecting so that no event is missed. Audio chunks are not among the
    // events unless asked for (`audio_events(true)`), so a reader like this one never lags.
    let mut events = agent.handle().subscribe(1024);
    // A refused key, a wrong URL or model: the typed error comes back here, before anything
    // is said.
    let session = agent.connect().await?;

    // Another part of the app reads the agent's events, as a Stream.
    let printer = tokio::spawn(async move {
        let mut answers = 0;
        while let Some(event) = events.next().await {
            match event {
                AgentEvent::AssistantMessage { text, .. } => println!("agent: {text}"),
                AgentEvent::ToolFinished { name, output, .. } => {
                    println!("agent ran {name}: {output}")
                }
                AgentEvent::Idle => answers += 1,
                _ => {}
            }
        }
        answers
    });

    // The app's own loop: a temperature reading every 200 ms; the agent is asked when it
    // crosses a threshold.
    let mut temperature = 24.0f32;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        temperature += 0.7;
        if temperature > 28.0 && session.is_running() {
            session
                .send_text(format!(
                    "It is {temperature:.1} °C in the greenhouse. What should we do?"
                ))
                .await?;
            temperature = 24.0;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let summary = session.shutdown().await?;
    let answers = printer.await?;
    println!(
        "the app handled {answers} exchanges ({} tool calls); the fan is at {}",
        summary.tool_calls,
        fan.load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}
