//! The `agent` command: a tool-calling voice agent in the terminal. Everything lives in
//! [`realtime_agent::cli`]; this is only its entry point. Run `agent --help`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    realtime_agent::cli::Cli::new().run_from_env().await.into()
}
