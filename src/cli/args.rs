//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::HostChoice;
use crate::protocol::Dialect;

const ABOUT: &str = "Talk to a tool-calling voice agent on the OpenAI Realtime API.";

const LONG_ABOUT: &str = "\
Talk to a tool-calling voice agent on the OpenAI Realtime API.

With no options, `agent` holds a voice conversation through the default microphone and speaker,
with the settings and tools of ./agent.toml. --text holds it in writing (stdin lines in, replies
out; works with pipes), --input sends a WAV file and writes the spoken reply with --output.
--sim runs everything against a built-in simulated model: no key, no network.";

/// `agent`: a voice agent from the terminal.
#[derive(Debug, Parser)]
#[command(name = "agent", version, about = ABOUT, long_about = LONG_ABOUT)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    #[command(flatten)]
    pub(crate) global: GlobalArgs,

    /// A text conversation: each line of stdin is a message; replies stream to stdout. With a
    /// pipe, exits when stdin ends and the last reply is done.
    #[arg(long, conflicts_with_all = ["input", "push_to_talk"])]
    pub(crate) text: bool,

    /// Send this WAV file (any rate and channels) as one turn, wait for the whole answer
    /// (tools included), print both transcripts.
    #[arg(long, value_name = "IN.wav", conflicts_with = "push_to_talk")]
    pub(crate) input: Option<PathBuf>,

    /// With --input: write the spoken reply to this WAV file (24 kHz mono PCM16).
    #[arg(long, value_name = "OUT.wav", requires = "input")]
    pub(crate) output: Option<PathBuf>,

    /// With --input: a text message sent with the audio, e.g. "Summarize this audio".
    #[arg(long, value_name = "TEXT", requires = "input")]
    pub(crate) prompt: Option<String>,

    /// Voice mode with manual turns: press Enter to start talking and Enter again to send (for
    /// noisy rooms).
    #[arg(long)]
    pub(crate) push_to_talk: bool,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub(crate) struct GlobalArgs {
    /// MCP servers added in Rust (`Cli::mcp_server`), after those of agent.toml.
    #[arg(skip)]
    pub(crate) mcp: Vec<crate::mcp::McpServer>,

    /// The configuration file [default: ./agent.toml, if present].
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// The Realtime WebSocket URL (wins over `url` in agent.toml and OPENAI_REALTIME_URL).
    #[arg(long, global = true, value_name = "WS_URL")]
    pub(crate) url: Option<String>,

    /// The model (or Azure deployment).
    #[arg(long, global = true, value_name = "MODEL")]
    pub(crate) model: Option<String>,

    /// The API dialect.
    #[arg(long, global = true, value_name = "ga|beta", value_parser = parse_dialect)]
    pub(crate) api: Option<Dialect>,

    /// The assistant's voice (marin, cedar, alloy, …).
    #[arg(long, global = true, value_name = "VOICE")]
    pub(crate) voice: Option<String>,

    /// Write every event sent and received, with timestamps, to this JSON Lines file (audio
    /// payloads are elided unless --record-audio).
    #[arg(long, global = true, value_name = "FILE.jsonl")]
    pub(crate) record: Option<PathBuf>,

    /// With --record: keep the base64 audio in the recording.
    #[arg(long, global = true, requires = "record")]
    pub(crate) record_audio: bool,

    /// Print each turn's latency on stderr as it ends: end of your input to the answer
    /// starting, to its first audio arriving and being heard, each tool, the whole turn.
    #[arg(long, global = true)]
    pub(crate) metrics: bool,

    /// Run against the built-in simulated model (no key, no network): it calls a tool when your
    /// words name it and otherwise answers in text and audio.
    #[arg(long, global = true)]
    pub(crate) sim: bool,

    /// With --sim: speak this recording (any WAV) as every spoken answer, instead of a tone.
    #[arg(long, global = true, value_name = "FILE.wav", requires = "sim")]
    pub(crate) sim_voice: Option<PathBuf>,
}

/// The commands besides the conversation itself.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the tools exactly as they are sent in `session.update` (JSON).
    Tools,
    /// List audio devices (names to use as input_device / output_device in agent.toml).
    Devices {
        /// The sound system: auto, pulseaudio or alsa [default: [audio] host, else auto].
        #[arg(long, value_name = "HOST", value_parser = parse_host)]
        host: Option<HostChoice>,
    },
    /// Check agent.toml and print the resolved settings (never secrets).
    Check,
    /// Mint a short-lived client secret (ek_…) for a browser or mobile client.
    Token {
        /// How long the secret is valid, in seconds (the API allows 10 to 7200).
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(10..=7200))]
        expires_in: Option<u64>,
        /// The REST API base URL [default: OPENAI_BASE_URL, else https://api.openai.com/v1].
        #[arg(long, value_name = "URL")]
        api_base: Option<String>,
        /// Print the secret and its expiry as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Serve the agent to phone calls (Twilio Media Streams, OpenAI SIP) and a browser page,
    /// one session per caller, configured by [serve] in agent.toml. Stops on SIGTERM or Ctrl-C
    /// after live calls finish (up to drain_timeout).
    #[cfg(feature = "serve")]
    Serve {
        /// The address to listen on [default: [serve] listen, else 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Serve the --sim model as a fake Realtime server on 127.0.0.1, for clients in any
    /// language (GA, or beta with `OpenAI-Beta: realtime=v1`). Prints its URL, e.g.
    /// ws://127.0.0.1:8765/v1/realtime, then serves until Ctrl-C.
    FakeServer {
        /// The port to listen on (0: any free port).
        #[arg(long, value_name = "N", default_value_t = 0)]
        port: u16,
    },
}

fn parse_dialect(text: &str) -> Result<Dialect, String> {
    text.parse()
}

fn parse_host(text: &str) -> Result<HostChoice, String> {
    match text.to_ascii_lowercase().as_str() {
        "auto" => Ok(HostChoice::Auto),
        "pulseaudio" | "pulse" | "pipewire" => Ok(HostChoice::PulseAudio),
        "alsa" => Ok(HostChoice::Alsa),
        other => Err(format!(
            "unknown audio host `{other}` (expected auto, pulseaudio or alsa)"
        )),
    }
}

/// The text after the options in `agent --help`.
pub(crate) fn after_help() -> String {
    format!(
        "{}\nEnvironment:\n  OPENAI_API_KEY        the API key (or the variable named by api_key_env in agent.toml)\n  \
         OPENAI_REALTIME_URL   the WebSocket URL when neither --url nor agent.toml sets one\n  \
         OPENAI_BASE_URL       the REST API base for `agent token`\n  \
         RUST_LOG              log filter, e.g. RUST_LOG=realtime_agent=debug\n\n\
         Try it with no key and no network:  agent --sim --text",
        super::exit::ExitCode::help_table()
    )
}
