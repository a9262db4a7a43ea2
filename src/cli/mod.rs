//! The `agent` command line as a library (feature `cli`), so that a program of your own can add
//! Rust tools and get the whole command: voice, `--text`, `--input`, `--sim`, `tools`, `check`,
//! `devices`, `token`, `fake-server`, `serve`.
//!
//! ```no_run
//! use realtime_agent::cli::Cli;
//! use realtime_agent::tool::{BoxError, tool_fn};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Dice {
//!     /// How many sides.
//!     sides: u32,
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     let roll = tool_fn("roll_dice", "Rolls a die", |args: Dice, _ctx| async move {
//!         Ok::<_, BoxError>(format!("{}", 1 + fastrand::u32(..args.sides.max(1))))
//!     });
//!     Cli::new().tool(roll).run_from_env().await.into()
//! }
//! ```
//!
//! # Layout
//!
//! | File | Job |
//! |---|---|
//! | `args.rs` | the command line (clap) |
//! | `session.rs` | agent.toml with the flags applied, the key, `--sim`, `--record`; running a session |
//! | `driver.rs` | the loop every mode shares: events, stdin, approvals, Ctrl-C, when to stop |
//! | `render.rs`, `summary.rs` | transcripts, tool calls, status; usage and cost |
//! | `modes/` | voice, text and file |
//! | `commands/` | `tools`, `devices`, `check`, `token`, `fake-server` |
//! | `record.rs`, `console.rs` | the `--record` file; stdin lines |
//! | `exit.rs` | one exit code per kind of failure |

mod args;
mod commands;
mod console;
mod driver;
mod exit;
mod modes;
mod record;
mod render;
mod session;
mod summary;

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};

pub use exit::ExitCode;

use crate::ApiKey;
use crate::config::DEFAULT_API_KEY_ENV;
use crate::logging::Redactor;
use crate::tool::{DynTool, RegistryError, ToolOverrides, ToolRegistry};
use args::{Args, Command};
use exit::Failure;

/// The `agent` command, with any Rust tools added to those `agent.toml` declares.
#[derive(Debug, Default)]
#[must_use = "a Cli does nothing until run"]
pub struct Cli {
    tools: ToolRegistry,
    mcp: Vec<crate::mcp::McpServer>,
    error: Option<RegistryError>,
    /// The log writer's redactor, when `run_from_env` installed one: told the key once the
    /// configuration names its variable.
    redactor: Option<Redactor>,
}

impl Cli {
    /// The command with no tools beyond `agent.toml`'s.
    pub fn new() -> Cli {
        Cli::default()
    }

    /// Adds a Rust tool (after the declared ones). A bad or duplicate name is reported when
    /// the command runs, as a configuration error.
    pub fn tool(mut self, tool: impl DynTool + 'static) -> Cli {
        if let Err(error) = self.tools.add(tool) {
            self.error.get_or_insert(error);
        }
        self
    }

    /// Adds a Rust tool with some of its options overridden (timeout, approval, barge-in).
    pub fn tool_with(mut self, tool: impl DynTool + 'static, overrides: ToolOverrides) -> Cli {
        if let Err(error) = self.tools.add_with(tool, overrides) {
            self.error.get_or_insert(error);
        }
        self
    }

    /// Adds an MCP server's tools (after those of agent.toml's `[[mcp]]` entries).
    pub fn mcp_server(mut self, server: crate::mcp::McpServer) -> Cli {
        self.mcp.push(server);
        self
    }

    /// Runs with the process's arguments, logging to stderr as `RUST_LOG` says (quiet by
    /// default, except `agent serve`, which logs its calls at `info`). Convert the result for
    /// `main`: `Cli::new().run_from_env().await.into()`. Every line goes through a
    /// [`Redactor`], so that no key reaches the log, whatever crate logs it (at `TRACE`, the
    /// WebSocket library logs the handshake request, key included).
    ///
    /// With the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, the session, turn and
    /// tool-call spans are exported there too.
    pub async fn run_from_env(mut self) -> ExitCode {
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;

        let redactor = Redactor::new();
        if let Some(key) = ApiKey::from_env(DEFAULT_API_KEY_ENV) {
            redactor.add_secret(&key);
        }
        // A server's log is its record of calls; a conversation in the terminal shows its own.
        let serving = std::env::args().nth(1).is_some_and(|a| a == "serve");
        let default = if serving {
            "realtime_agent=info"
        } else {
            "off"
        };
        let log = tracing_subscriber::fmt::layer()
            .with_writer(redactor.writer(std::io::stderr))
            // Colour codes only for a person at a terminal, not in journald or a log file.
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none(),
            )
            .with_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
            );
        self.redactor = Some(redactor);
        #[cfg(feature = "otel")]
        {
            let export = telemetry_from_env();
            let spans = export.as_ref().map(|export| {
                export.layer().with_filter(
                    tracing_subscriber::filter::Targets::new()
                        .with_target("realtime_agent", tracing::Level::INFO),
                )
            });
            let _ = tracing_subscriber::registry()
                .with(log)
                .with(spans)
                .try_init();
            let code = self.run(std::env::args_os()).await;
            if let Some(export) = export {
                export.shutdown().await;
            }
            code
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = tracing_subscriber::registry().with(log).try_init();
            self.run(std::env::args_os()).await
        }
    }

    /// Runs with `args` (the first is the program name). Prints to stdout and stderr, reads
    /// stdin, and returns the exit code; errors are printed, not returned.
    pub async fn run<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let command = Args::command().after_help(args::after_help());
        let parsed = command
            .try_get_matches_from(args)
            .and_then(|matches| Args::from_arg_matches(&matches));
        let args = match parsed {
            Ok(args) => args,
            Err(error) => {
                let _ = error.print();
                return if error.use_stderr() {
                    ExitCode::Usage
                } else {
                    ExitCode::Success
                };
            }
        };
        match self.dispatch(args).await {
            Ok(()) => ExitCode::Success,
            Err(failure) => {
                report_failure(&failure);
                failure.code
            }
        }
    }

    async fn dispatch(self, mut args: Args) -> Result<(), Failure> {
        args.global.mcp = self.mcp;
        if let Some(error) = self.error {
            return Err(Failure::new(
                ExitCode::Config,
                format!("a Rust tool cannot be added: {error}"),
            ));
        }
        let global = &args.global;
        if let Some(redactor) = &self.redactor {
            // The key's variable may be another (`api_key_env`), and agent.toml may name other
            // secrets (MCP bearer tokens, hosted MCP authorizations, the server's); a
            // configuration that does not load is reported by the command itself.
            if let Ok(config) = session::load_config(global) {
                let secrets = config.secrets.iter().filter_map(|secret| secret.value());
                for secret in config.api_key().into_iter().chain(secrets) {
                    redactor.add_secret(&secret);
                }
                // Hosted MCP tokens travel in `session.update`, which the log may show.
                for server in &config.hosted_mcp {
                    if let Some(token) = server.resolve().ok().and_then(|d| d.authorization) {
                        redactor.add_secret(&token);
                    }
                }
            }
        }
        match args.command {
            Some(Command::Tools) => commands::tools(global, &self.tools).await,
            Some(Command::Check) => commands::check(global, &self.tools).await,
            Some(Command::Devices { host }) => commands::devices(global, host),
            Some(Command::Token {
                expires_in,
                api_base,
                json,
            }) => commands::token(global, expires_in, api_base, json).await,
            #[cfg(feature = "serve")]
            Some(Command::Serve { listen }) => {
                commands::serve(global, &self.tools, listen.as_deref()).await
            }
            Some(Command::FakeServer { port }) => commands::fake_server(port).await,
            None => {
                let context = session::prepare(global, &self.tools).await?;
                if args.text {
                    modes::text::run(context).await
                } else if let Some(input) = &args.input {
                    modes::file::run(context, input, args.output.as_deref(), args.prompt).await
                } else {
                    modes::voice::run(context, args.push_to_talk).await
                }
            }
        }
    }
}

fn report_failure(failure: &Failure) {
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if color {
        eprintln!("\x1b[31merror:\x1b[0m {}", failure.message);
    } else {
        eprintln!("error: {}", failure.message);
    }
}

/// The OTLP export when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces one) is set; a broken
/// setting is a warning, never a failed command.
#[cfg(feature = "otel")]
fn telemetry_from_env() -> Option<crate::otel::OtlpExport> {
    let wanted = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if !wanted {
        return None;
    }
    match crate::otel::OtlpExport::from_env("agent") {
        Ok(export) => Some(export),
        Err(error) => {
            eprintln!("warning: {error}; going on without it");
            None
        }
    }
}
