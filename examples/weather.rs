//! A Rust tool and a text conversation: the model calls `get_weather`, the agent runs it and
//! the model answers with the result.
//!
//! Run: `cargo run --example weather -- "What's the weather in Oslo?"`
//!
//! With `OPENAI_API_KEY` set it talks to the Realtime API (or to `OPENAI_REALTIME_URL` if set);
//! without a key it starts the built-in fake server, which plays a scripted model, so the whole
//! tool round trip runs offline.

use realtime_agent::prelude::*;
use realtime_agent::protocol::{Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::{ApiKey, transport};

// The arguments the model fills in; the doc comments are what it reads about them.
tool_args! {
    struct WeatherArgs {
        /// The city, e.g. "Paris".
        city: String,
        /// Celsius (default) or Fahrenheit.
        unit: Option<Unit>,
    }

    #[serde(rename_all = "lowercase")]
    enum Unit {
        Celsius,
        Fahrenheit,
    }
}

/// A pretend weather service: a real tool would call an API here.
fn get_weather() -> impl realtime_agent::tool::DynTool {
    tool(
        "get_weather",
        "Current weather in a city.",
        |args: WeatherArgs| async move {
            let celsius = 12.0 + (args.city.len() % 10) as f64;
            let (temperature, unit) = match args.unit.unwrap_or(Unit::Celsius) {
                Unit::Celsius => (celsius, "C"),
                Unit::Fahrenheit => (celsius * 9.0 / 5.0 + 32.0, "F"),
            };
            Ok(realtime_agent::serde_json::json!({
                "city": args.city, "temperature": temperature, "unit": unit, "conditions": "partly cloudy"
            }))
        },
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let question = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "What's the weather in Paris?".into());

    // No key: a scripted model on loopback that calls the tool, then answers.
    let key = ApiKey::from_env("OPENAI_API_KEY");
    let fake = match key {
        Some(_) => None,
        None => {
            println!("(no OPENAI_API_KEY: using the built-in fake server; no real model involved)");
            Some(
                FakeServer::builder()
                    .reply(Reply::call(
                        "get_weather",
                        serde_json::json!({"city": "Paris"}),
                    ))
                    .reply(Reply::text("It is 17 degrees and partly cloudy in Paris."))
                    .start()
                    .await,
            )
        }
    };
    let url = match &fake {
        Some(server) => server.url(),
        None => transport::resolve_url(None),
    };

    let mut builder = Agent::builder()
        .url(url)
        .session(SessionConfig {
            instructions: Some("Answer weather questions with the get_weather tool.".into()),
            output_modalities: Some(vec![Modality::Text]),
            ..SessionConfig::default()
        })
        .tool(get_weather());
    if let Some(key) = key {
        builder = builder.api_key(key);
    }
    let agent = builder.build()?;
    let handle = agent.handle();
    let mut events = handle.subscribe(1024);
    let run = tokio::spawn(agent.run());

    println!("you: {question}");
    handle.send_text(question).await?;
    while let Some(event) = events.recv().await {
        match event {
            AgentEvent::ToolStarted {
                name, arguments, ..
            } => println!("tool: {name}({arguments})"),
            AgentEvent::ToolFinished {
                output, duration, ..
            } => {
                println!("tool result ({duration:?}): {output}")
            }
            AgentEvent::AssistantMessage { text, .. } => println!("assistant: {text}"),
            AgentEvent::ServerError(error) => eprintln!("server error: {error}"),
            AgentEvent::Idle => break,
            AgentEvent::Closed { reason } => {
                eprintln!("session closed: {reason}");
                break;
            }
            _ => {}
        }
    }
    handle.shutdown();
    let summary = run.await??;
    println!(
        "{} responses, {} tool calls, {} input and {} output tokens",
        summary.usage.responses,
        summary.tool_calls,
        summary.usage.input(),
        summary.usage.output()
    );
    Ok(())
}
