//! `agent serve`: the agent on the phone and in the browser, until SIGTERM or Ctrl-C.

use crate::serve::{ServeError, ServeOptions, Server};
use crate::testing::FakeServer;
use crate::testing::sim::SimModel;
use crate::tool::ToolRegistry;
use crate::transport::resolve_url;

use super::super::args::GlobalArgs;
use super::super::exit::{ExitCode, Failure};
use super::super::session::{is_loopback, load_config, missing_key};

impl From<ServeError> for Failure {
    fn from(error: ServeError) -> Self {
        let code = match &error {
            ServeError::Config(_) | ServeError::Tools(_) => ExitCode::Config,
            _ => ExitCode::Failure,
        };
        Failure::new(code, error.to_string())
    }
}

/// Runs the server on `listen` (else `[serve] listen`, else 127.0.0.1:8080).
pub(crate) async fn serve(
    global: &GlobalArgs,
    rust_tools: &ToolRegistry,
    listen: Option<&str>,
) -> Result<(), Failure> {
    let mut config = load_config(global)?;
    // With --sim every call talks to the built-in simulated model, and no key is involved.
    let sim = if global.sim {
        let sim = FakeServer::builder()
            .responder(SimModel::new())
            .detect_speech(true)
            .record_events(false)
            .keep_input_audio(false)
            .start()
            .await;
        config.agent.url = Some(sim.url());
        config.agent.api_key_env = Some("AGENT_SIM_HAS_NO_KEY".into());
        Some(sim)
    } else {
        None
    };
    if sim.is_none() {
        config.connect_options().request_url()?;
        let url = resolve_url(config.agent.url.as_deref());
        if config.api_key().is_none() && !is_loopback(&url) {
            return Err(missing_key(config.api_key_env()));
        }
    }
    let mut options = ServeOptions::from_config(config, listen)?;
    options.rust_tools = rust_tools.clone();
    let server = Server::bind(options).await?;
    eprintln!("agent serve: listening on http://{}", server.local_addr());
    server.run(shutdown_signal()).await?;
    eprintln!("agent serve: stopped");
    drop(sim);
    Ok(())
}

/// SIGTERM (a service manager, Kubernetes) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
