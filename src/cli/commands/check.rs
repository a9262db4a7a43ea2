//! `agent check`: validate the configuration and show what a session would use (no secrets).

use std::fmt::Write as _;
use std::path::Path;

use crate::config::{Config, TurnDetectionKind};
use crate::protocol::{Dialect, Modality};
use crate::tool::{ChildEnv, DeclaredToolSpec, ToolRegistry};
use crate::transport::URL_ENV_VAR;

use super::super::args::GlobalArgs;
use super::super::exit::Failure;
use super::super::session::load_config;

/// Prints the resolved settings, the tools and any warnings. Fails only on an invalid
/// configuration.
pub(crate) async fn check(global: &GlobalArgs, rust_tools: &ToolRegistry) -> Result<(), Failure> {
    let config = load_config(global)?;
    let mut registry = config.tool_registry_with(rust_tools)?;
    let servers = super::mcp::list(&config, &mut registry).await?;
    let request_url = config.connect_options().request_url()?;
    let mut out = String::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut row = |name: &str, value: String| {
        let _ = writeln!(out, "{name:<16}{value}");
    };

    row(
        "config",
        config.path.as_ref().map_or_else(
            || "none (./agent.toml not found): defaults".to_owned(),
            |p| p.display().to_string(),
        ),
    );
    row("model", config.model().to_owned());
    row("api", config.dialect().to_string());
    let url_source = if global.url.is_some() {
        "--url"
    } else if config.agent.url.is_some() {
        "agent.toml"
    } else if std::env::var(URL_ENV_VAR).is_ok_and(|u| !u.trim().is_empty()) {
        URL_ENV_VAR
    } else {
        "default"
    };
    if global.sim {
        row("url", "the built-in simulated model (--sim)".to_owned());
    } else {
        row(
            "url",
            format!("{} (from {url_source})", redact_query(&request_url)),
        );
    }
    let key_var = config.api_key_env();
    row(
        "api key",
        if config.api_key().is_some() {
            format!("{key_var} is set")
        } else {
            format!("{key_var} is not set (needed unless --sim or a local URL)")
        },
    );
    row(
        "voice",
        config
            .agent
            .voice
            .clone()
            .unwrap_or_else(|| "server default".into()),
    );
    row("instructions", describe_instructions(&config));
    row(
        "output",
        match config.agent.output_modalities.as_deref() {
            Some([Modality::Text]) => "text".to_owned(),
            Some(_) => "audio with transcript".to_owned(),
            None => "server default (audio with transcript)".to_owned(),
        },
    );
    if let Some(t) = config.agent.temperature {
        row("temperature", t.to_string());
        if config.dialect() == Dialect::Ga {
            warnings.push(
                "`temperature` is sent to the beta API only; the GA API has none and ignores it"
                    .into(),
            );
        }
    }
    if let Some(speed) = config.agent.speed {
        row("speed", speed.to_string());
    }
    row("turn detection", describe_turns(&config));
    row(
        "transcription",
        match config.input_transcription() {
            Some(t) => t.model.unwrap_or_default(),
            None => "off".to_owned(),
        },
    );
    let audio = &config.audio;
    row(
        "audio",
        format!(
            "host {}, input {}, output {}, echo cancellation {}, half-duplex {}, {} ms frames",
            audio.host.unwrap_or_default().as_str(),
            audio.input_device.as_deref().unwrap_or("default"),
            audio.output_device.as_deref().unwrap_or("default"),
            if audio.echo_cancellation.unwrap_or(true) {
                "on"
            } else {
                "off"
            },
            match (audio.half_duplex, audio.echo_cancellation.unwrap_or(true)) {
                (Some(true), _) => "on",
                (Some(false), _) | (None, true) => "off",
                (None, false) => "on with the default speaker",
            },
            audio.frame_ms.unwrap_or(crate::audio::DEFAULT_FRAME_MS),
        ),
    );
    let model = config.model();
    row(
        "prices",
        match (config.prices.get(model), config.prices_for(model)) {
            (Some(p), _) => format!("{} (agent.toml)", describe_prices(p)),
            (None, Some(p)) => format!("{} (built in)", describe_prices(&p)),
            (None, None) => {
                format!("unknown for {model}: add [prices.\"{model}\"] to agent.toml to see costs")
            }
        },
    );

    let _ = writeln!(out, "tools ({}):", registry.len());
    for registered in registry.iter() {
        let declared = config.tools.iter().find(|t| t.name() == registered.name());
        let from_mcp = servers.iter().find(|server| {
            server
                .outcome
                .as_ref()
                .is_ok_and(|names| names.iter().any(|n| n == registered.name()))
        });
        let options = registered.options();
        let mut line = format!("  {:<16}", registered.name());
        match declared.map(|t| t.spec()) {
            Some(DeclaredToolSpec::Command(spec)) => {
                let _ = write!(line, "command {}", spec.program);
                if let Some(problem) = program_problem(&spec.program) {
                    warnings.push(format!("tool {}: {problem}", registered.name()));
                }
            }
            Some(DeclaredToolSpec::Http(spec)) => {
                let method = format!("{:?}", spec.method).to_uppercase();
                let _ = write!(line, "http {method} {}", spec.url);
            }
            None => match from_mcp {
                Some(server) => {
                    let _ = write!(line, "mcp server {:?}", server.name);
                }
                None => line.push_str("rust"),
            },
        }
        let _ = write!(line, ", timeout {} s", options.timeout.as_secs_f64());
        if options.requires_approval {
            line.push_str(", asks before running");
        }
        let _ = writeln!(out, "{line}");
        if let Some(env) = declared.and_then(|t| t.child_env()) {
            let _ = writeln!(out, "{:<18}env: {}", "", describe_env(env));
            for name in env.resolve().unset() {
                warnings.push(format!(
                    "tool {}: environment variable {name} (in pass_env) is not set",
                    registered.name()
                ));
            }
        }
        if let Some(tool) = declared {
            for variable in tool.missing_env_vars() {
                warnings.push(format!(
                    "tool {}: environment variable {variable} (used in its headers) is not set",
                    tool.name()
                ));
            }
        }
    }

    if !config.hosted_mcp.is_empty() {
        let _ = writeln!(out, "hosted mcp servers ({}):", config.hosted_mcp.len());
        for server in &config.hosted_mcp {
            let _ = writeln!(out, "  {:<16}{}", server.label(), describe_hosted(server));
            if let Some(var) = server.authorization_var()
                && server.resolve().is_err()
            {
                warnings.push(format!(
                    "hosted MCP server {:?}: environment variable {var} (authorization_env) is \
                     not set",
                    server.label()
                ));
            }
        }
        if config.dialect() == Dialect::Beta {
            warnings.push(
                "hosted MCP servers need the GA interface; the beta interface has no MCP tools"
                    .into(),
            );
        }
    }

    let graph = config.handoff_graph();
    if !graph.is_empty() {
        let _ = writeln!(out, "handoffs:");
        for line in graph {
            let _ = writeln!(out, "  {line}");
        }
    }

    if !servers.is_empty() {
        let _ = writeln!(out, "mcp servers ({}):", servers.len());
        for server in &servers {
            let status = match &server.outcome {
                Ok(names) => format!("ok, {} tools", names.len()),
                Err(error) => {
                    warnings.push(error.to_string());
                    "FAILED (see the warning below)".to_owned()
                }
            };
            let _ = writeln!(out, "  {:<16}{}: {status}", server.name, server.reached);
        }
    }

    let mut session = config.session();
    session.kind =
        (config.dialect() == Dialect::Ga).then_some(crate::protocol::SessionKind::Realtime);
    let json = serde_json::to_string_pretty(&session.to_wire(config.dialect()))
        .expect("a session is a JSON value");
    let _ = writeln!(
        out,
        "session.update (as sent, without the tools; see `agent tools`):\n{json}"
    );
    for warning in &warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    let verdict = match &config.path {
        Some(path) => format!("{} is valid", path.display()),
        None => "the defaults are valid".to_owned(),
    };
    let _ = write!(out, "{verdict}");
    println!("{out}");
    Ok(())
}

/// A hosted MCP server in one line: where it is and where its token comes from (never the
/// token).
pub(super) fn describe_hosted(server: &crate::agent::HostedMcp) -> String {
    let mut text = match (server.server_url(), server.connector_id()) {
        (Some(url), _) => format!("hosted mcp {url}"),
        (None, Some(connector)) => format!("hosted mcp connector {connector}"),
        (None, None) => "hosted mcp".to_owned(),
    };
    if let Some(var) = server.authorization_var() {
        let state = if std::env::var_os(var).is_some() {
            "set"
        } else {
            "NOT SET"
        };
        let _ = write!(text, ", authorization from {var} ({state})");
    }
    text
}

/// What a command tool's program gets of the environment: names only, never values.
fn describe_env(env: &ChildEnv) -> String {
    let resolved = env.resolve();
    let mut withheld: Vec<&str> = env.withheld_names().collect();
    withheld.extend(resolved.withheld().iter().map(String::as_str));
    withheld.sort_unstable();
    withheld.dedup();
    let set: Vec<&str> = env.set_names().collect();
    let mut text = if env.inherits() {
        format!(
            "the agent's environment ({} variables)",
            resolved.vars().len()
        )
    } else if resolved.vars().is_empty() {
        "none (inherit_env = false)".to_owned()
    } else {
        format!("only {} (inherit_env = false)", resolved.names().join(", "))
    };
    if env.inherits() && !set.is_empty() {
        let _ = write!(text, ", setting {}", set.join(", "));
    }
    let _ = write!(text, "; never {}", withheld.join(", "));
    text
}

fn describe_instructions(config: &Config) -> String {
    let Some(text) = &config.agent.instructions else {
        return "server default".to_owned();
    };
    let first: String = text.chars().take(60).collect();
    let more = if text.chars().count() > 60 { "…" } else { "" };
    let from = config
        .agent
        .instructions_file
        .as_ref()
        .map(|f| format!(", from {}", f.display()))
        .unwrap_or_default();
    format!(
        "{} characters{from}: \"{}{more}\"",
        text.chars().count(),
        first.replace('\n', " ")
    )
}

fn describe_turns(config: &Config) -> String {
    let Some(td) = &config.turn_detection else {
        return "server default (server_vad)".to_owned();
    };
    let mut parts = Vec::new();
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("{name} {value}"));
        }
    };
    add("threshold", td.threshold.map(|v| v.to_string()));
    add(
        "prefix_padding_ms",
        td.prefix_padding_ms.map(|v| v.to_string()),
    );
    add(
        "silence_duration_ms",
        td.silence_duration_ms.map(|v| v.to_string()),
    );
    add("idle_timeout_ms", td.idle_timeout_ms.map(|v| v.to_string()));
    add("eagerness", td.eagerness.map(|v| v.as_str().to_owned()));
    add("create_response", td.create_response.map(|v| v.to_string()));
    add(
        "interrupt_response",
        td.interrupt_response.map(|v| v.to_string()),
    );
    match (td.kind, parts.is_empty()) {
        (TurnDetectionKind::None, _) => "none (manual turns)".to_owned(),
        (kind, true) => kind.as_str().to_owned(),
        (kind, false) => format!("{} ({})", kind.as_str(), parts.join(", ")),
    }
}

fn describe_prices(p: &crate::agent::Prices) -> String {
    format!(
        "USD per 1M tokens: text in {} (cached {}), out {}; audio in {} (cached {}), out {}",
        p.text_in, p.cached_text_in, p.text_out, p.audio_in, p.cached_audio_in, p.audio_out
    )
}

/// Why a command tool's program cannot run, if it visibly cannot.
fn program_problem(program: &str) -> Option<String> {
    if program.contains('/') {
        let path = Path::new(program);
        return match std::fs::metadata(path) {
            Err(_) => Some(format!("program {program} does not exist")),
            Ok(meta) if !is_executable(&meta) => Some(format!(
                "program {program} is not executable (chmod +x {program})"
            )),
            Ok(_) => None,
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    (!on_path).then(|| format!("program {program} is not on PATH"))
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    meta.is_file()
}

/// The URL with the values of query parameters that may hold secrets replaced by `***`.
fn redact_query(url: &url::Url) -> String {
    let mut url = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let secret = ["key", "token", "secret", "sig", "auth"]
                .iter()
                .any(|s| k.to_lowercase().contains(s));
            (
                k.into_owned(),
                if secret { "***".into() } else { v.into_owned() },
            )
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let _ = url.set_password(None);
    url.to_string()
}
