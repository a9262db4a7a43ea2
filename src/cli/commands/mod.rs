//! The commands besides the conversation: `tools`, `devices`, `check`, `token`,
//! `fake-server`, `serve`.

mod check;
mod fake_server;
mod mcp;
#[cfg(feature = "serve")]
mod serve;
mod token;

pub(crate) use check::check;
pub(crate) use fake_server::fake_server;
#[cfg(feature = "serve")]
pub(crate) use serve::serve;
pub(crate) use token::token;

use crate::config::HostChoice;
use crate::tool::ToolRegistry;

use super::args::GlobalArgs;
use super::exit::Failure;
use super::session::load_config;

/// `agent tools`: the session's `tools` array exactly as `session.update` carries it on stdout;
/// on stderr, which MCP server each MCP tool comes from (the servers are started to list them).
pub(crate) async fn tools(global: &GlobalArgs, rust_tools: &ToolRegistry) -> Result<(), Failure> {
    let config = load_config(global)?;
    let mut registry = config.agent_builder_with(rust_tools)?.starting_tools()?;
    let servers = mcp::list(&config, &mut registry).await?;
    let mut definitions = registry.definitions();
    for server in &config.hosted_mcp {
        // As the session declares it, but the token stays a name: never its value.
        let mut definition = server.declared().clone();
        if definition.authorization.take().is_some() || server.authorization_var().is_some() {
            definition.authorization = Some(crate::ApiKey::new("***"));
        }
        if let Some(headers) = &mut definition.headers {
            headers.values_mut().for_each(|v| *v = "***".to_owned());
        }
        definitions.push(crate::protocol::ToolDefinition::Mcp(definition));
    }
    let json =
        serde_json::to_string_pretty(&definitions).expect("tool definitions are JSON values");
    println!("{json}");
    for server in &config.hosted_mcp {
        eprintln!("{}: {}", server.label(), check::describe_hosted(server));
    }
    for server in &servers {
        match &server.outcome {
            Ok(names) => {
                for name in names {
                    eprintln!("{name}: from MCP server {:?}", server.name);
                }
            }
            Err(error) => eprintln!("warning: {error}"),
        }
    }
    Ok(())
}

/// `agent devices`: the sound system's devices, with the names agent.toml takes.
#[cfg(feature = "audio")]
pub(crate) fn devices(global: &GlobalArgs, host: Option<HostChoice>) -> Result<(), Failure> {
    use crate::audio::{AudioHost, list_devices};
    let host = match host {
        Some(host) => host,
        None => load_config(global)?.audio.host.unwrap_or_default(),
    };
    let host = match host {
        HostChoice::Auto => AudioHost::Auto,
        HostChoice::PulseAudio => AudioHost::PulseAudio,
        HostChoice::Alsa => AudioHost::Alsa,
    };
    let devices = list_devices(host)?;
    if devices.is_empty() {
        println!("no audio devices found (use --text or --input FILE.wav without one)");
        return Ok(());
    }
    for device in &devices {
        let mut roles = Vec::new();
        if device.input {
            roles.push(if device.default_input {
                "input (default)"
            } else {
                "input"
            });
        }
        if device.output {
            roles.push(if device.default_output {
                "output (default)"
            } else {
                "output"
            });
        }
        println!("{}  [{}]  {}", device.name, device.host, roles.join(", "));
        if device.description != device.name && !device.description.is_empty() {
            println!("    {}", device.description);
        }
        let rates = |rates: &[u32]| {
            rates
                .iter()
                .map(|r| format!("{} Hz", r))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !device.input_rates.is_empty() {
            println!("    capture rates: {}", rates(&device.input_rates));
        }
        if !device.output_rates.is_empty() {
            println!("    playback rates: {}", rates(&device.output_rates));
        }
    }
    println!(
        "\nChoose one in agent.toml: [audio] input_device = \"NAME\" / output_device = \"NAME\""
    );
    Ok(())
}

/// Without the `audio` feature there are no devices to list.
#[cfg(not(feature = "audio"))]
pub(crate) fn devices(global: &GlobalArgs, host: Option<HostChoice>) -> Result<(), Failure> {
    let _ = (global, host);
    Err(Failure::new(
        super::exit::ExitCode::AudioDevice,
        "this agent was built without audio support (the `audio` feature)",
    ))
}
