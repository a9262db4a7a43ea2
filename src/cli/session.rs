//! What every conversation mode shares: the configuration with the command line's overrides,
//! the key, `--sim`, `--record`, and running the agent to its summary.

use std::path::PathBuf;
use std::sync::Arc;

use crate::agent::{AgentBuilder, SessionSummary};
use crate::config::{Config, DEFAULT_PATH};
use crate::protocol::ClientEvent;
use crate::testing::FakeServer;
use crate::testing::sim::SimModel;
use crate::tool::ToolRegistry;
use crate::transport::{ConnectOptions, resolve_url};

use super::args::GlobalArgs;
use super::driver::{Driver, Mode};
use super::exit::{ExitCode, Failure};
use super::record::JsonlRecorder;
use super::render::Renderer;
use super::summary::{PriceSource, report};

/// The configuration with the command line applied, and what the session needs besides.
pub(crate) struct Context {
    pub(crate) config: Config,
    pub(crate) rust_tools: ToolRegistry,
    pub(crate) sim: Option<FakeServer>,
    pub(crate) recorder: Option<Arc<JsonlRecorder>>,
    /// `--metrics`: a latency line per turn.
    pub(crate) metrics: bool,
}

/// Reads `agent.toml` (`--config`, else `./agent.toml` when present, else defaults) and applies
/// `--url`, `--model`, `--api` and `--voice` on top.
pub(crate) fn load_config(global: &GlobalArgs) -> Result<Config, Failure> {
    let mut config = match &global.config {
        Some(path) => Config::load(path)?,
        None if PathBuf::from(DEFAULT_PATH).exists() => Config::load(DEFAULT_PATH)?,
        None => Config::default(),
    };
    if let Some(url) = &global.url {
        config.agent.url = Some(url.clone());
    }
    if let Some(model) = &global.model {
        config.agent.model = Some(model.clone());
    }
    if let Some(api) = global.api {
        config.agent.api = Some(api);
    }
    if let Some(voice) = &global.voice {
        config.agent.voice = Some(voice.clone());
    }
    config.mcp.extend(global.mcp.iter().cloned());
    Ok(config)
}

/// Everything a conversation needs before its mode adjusts the configuration.
pub(crate) async fn prepare(
    global: &GlobalArgs,
    rust_tools: &ToolRegistry,
) -> Result<Context, Failure> {
    let config = load_config(global)?;
    if config.path.is_none() && global.config.is_none() {
        eprintln!("note: no ./agent.toml here; using the defaults (no declared tools)");
    }
    let recorder = match &global.record {
        Some(path) => Some(Arc::new(
            JsonlRecorder::create(path, global.record_audio).map_err(|error| {
                Failure::new(
                    ExitCode::File,
                    format!("cannot create the recording {}: {error}", path.display()),
                )
            })?,
        )),
        None => None,
    };
    let voice = match &global.sim_voice {
        Some(path) => Some(sim_voice(path, &config).await?),
        None => None,
    };
    let sim = if global.sim {
        eprintln!(
            "--sim: talking to the built-in simulated model on this machine. No real model is \
             involved and nothing leaves this computer; it calls a tool when your words name it \
             (try \"what time is it\") and otherwise says it is a simulation."
        );
        Some(
            FakeServer::builder()
                .responder(match voice {
                    Some(audio) => SimModel::new().voice(audio),
                    None => SimModel::new(),
                })
                // Turns in voice mode, detected from the microphone's level as server VAD would.
                .detect_speech(true)
                .record_payloads(false)
                .keep_input_audio(false)
                .start()
                .await,
        )
    } else {
        None
    };
    Ok(Context {
        config,
        rust_tools: rust_tools.clone(),
        sim,
        recorder,
        metrics: global.metrics,
    })
}

/// The agent builder for `context`: the configuration's one path into [`AgentBuilder`], the
/// simulated server or the key, and the recorder.
pub(crate) fn builder(context: &Context) -> Result<AgentBuilder, Failure> {
    let config = &context.config;
    let mut builder = config.agent_builder_with(&context.rust_tools)?;
    match &context.sim {
        // Never hand a real key to the simulation.
        Some(sim) => {
            builder = builder
                .connect_options(ConnectOptions {
                    url: Some(sim.url()),
                    api_key: None,
                    ..config.connect_options()
                })
                .no_api_key();
        }
        None => {
            // A URL that cannot work is the first thing to fix.
            config.connect_options().request_url()?;
            let url = resolve_url(config.agent.url.as_deref());
            if config.api_key().is_none() && !is_loopback(&url) {
                return Err(missing_key(config.api_key_env()));
            }
        }
    }
    if let Some(recorder) = &context.recorder {
        builder = builder.recorder(recorder.clone());
    }
    Ok(builder)
}

/// The message for a missing key.
pub(crate) fn missing_key(variable: &str) -> Failure {
    Failure::new(
        ExitCode::MissingKey,
        format!(
            "no API key: the environment variable {variable} is not set.\n\
             Set it for this shell (keys are at https://platform.openai.com/api-keys):\n\
             \x20   export {variable}=\"sk-...\"\n\
             (`api_key_env` in agent.toml names another variable.) Or try the whole loop, tools \
             included, without a key or a network:\n\
             \x20   agent --sim --text"
        ),
    )
}

/// Whether `url` points at this machine (a fake server or a local proxy needs no key).
pub(crate) fn is_loopback(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `scheme://host:port/path` of the URL in use, without a query that may carry a token.
fn shown_url(context: &Context) -> String {
    let url = match &context.sim {
        Some(sim) => sim.url(),
        None => resolve_url(context.config.agent.url.as_deref()),
    };
    match url::Url::parse(&url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string()
        }
        Err(_) => url,
    }
}

/// The prices the summary uses.
fn price_source(context: &Context) -> PriceSource {
    let model = context.config.model();
    if context.sim.is_some() {
        PriceSource::Simulated
    } else if let Some(prices) = context.config.prices.get(model) {
        PriceSource::Config(*prices)
    } else {
        crate::agent::Prices::for_model(model).map_or(PriceSource::Unknown, PriceSource::BuiltIn)
    }
}

/// Runs the agent built by `builder` in `mode` until it ends, showing everything on `renderer`;
/// `first` are client events queued before it starts (sent right after the session is set up).
/// Prints the usage and cost at the end.
pub(crate) async fn converse(
    context: &Context,
    builder: AgentBuilder,
    mode: Mode,
    mut renderer: Renderer,
    first: Vec<ClientEvent>,
) -> Result<(SessionSummary, Renderer), Failure> {
    let agent = builder.build()?;
    let handle = agent.handle();
    let events = handle.subscribe(4096);
    for event in first {
        let _ = handle.send_event(event).await;
    }
    let config = &context.config;
    renderer.note(&format!(
        "connecting to {} (model {}, api {})…",
        shown_url(context),
        config.model(),
        config.dialect()
    ));
    renderer.show_metrics(context.metrics);
    // The driver catches Ctrl-C before the agent starts.
    let driver = Driver::new(handle, events, renderer, mode);
    let run = tokio::spawn(agent.run());
    let mut renderer = driver.run().await;
    let outcome = run.await.map_err(|error| {
        Failure::new(
            ExitCode::Failure,
            format!("the agent stopped unexpectedly: {error}"),
        )
    })?;
    if let Some(recorder) = &context.recorder {
        match recorder.finish() {
            Ok(()) => renderer.note(&format!(
                "recorded every event to {}",
                recorder.path().display()
            )),
            Err(error) => renderer.warn(&format!(
                "the recording {} is incomplete: {error}",
                recorder.path().display()
            )),
        }
    }
    let summary = outcome?;
    if let Some(latency) = renderer.latency_summary() {
        renderer.note(&latency);
    }
    renderer.note(&report(&summary, config.model(), price_source(context)));
    Ok((summary, renderer))
}

/// The recording `--sim-voice` names, in the session's output format.
async fn sim_voice(path: &std::path::Path, config: &Config) -> Result<Vec<u8>, Failure> {
    use crate::audio::{AudioSource, WavSource};
    let format = config.session().output_audio_format.unwrap_or_default();
    let fail = |error: crate::audio::AudioError| {
        Failure::new(
            ExitCode::File,
            format!("--sim-voice {}: {error}", path.display()),
        )
    };
    let mut source = WavSource::open(path, format, 1000).map_err(fail)?;
    let mut audio = Vec::new();
    while let Some(frame) = source.next_frame().await.map_err(fail)? {
        audio.extend_from_slice(&frame);
    }
    Ok(audio)
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_urls_need_no_key() {
        assert!(super::is_loopback("ws://127.0.0.1:4000/v1/realtime"));
        assert!(super::is_loopback("ws://localhost:4000/v1/realtime"));
        assert!(super::is_loopback("ws://[::1]:4000/"));
        assert!(!super::is_loopback("wss://api.openai.com/v1/realtime"));
    }
}
