//! Your own `agent` command with Rust tools: the whole command line (voice, `--text`,
//! `--input`, `--sim`, `tools`, `check`, `token`) plus the tools below, next to those
//! `agent.toml` declares.
//!
//! Run it without a key, typing to the simulated model:
//!
//! ```sh
//! cargo run --example custom_cli -- --sim --text
//! > roll a die with 20 sides
//! > convert 21.5 celsius to fahrenheit
//! ```
//!
//! or, with `OPENAI_API_KEY` set, talk to it: `cargo run --example custom_cli`.
//!
//! The CLI returns its exit code rather than ending the process, even when a second Ctrl-C
//! quits without waiting for the session (code 130), so whatever `main` does after it still
//! runs: here, a line saying how many dice were rolled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use realtime_agent::cli::Cli;
use realtime_agent::prelude::*;
use realtime_agent::serde::Serialize;
use realtime_agent::tool::ToolOverrides;

tool_args! {
    struct RollArgs {
        /// How many sides the die has (2 to 1000).
        sides: u32,
    }

    struct ConvertArgs {
        /// The temperature.
        value: f64,
        /// The scale to convert it to.
        to: Scale,
    }

    #[serde(rename_all = "lowercase")]
    enum Scale {
        /// To Celsius.
        Celsius,
        /// To Fahrenheit.
        Fahrenheit,
    }
}

/// The converted temperature, sent to the model as JSON.
#[derive(Serialize)]
#[serde(crate = "realtime_agent::serde")]
struct Converted {
    value: f64,
    unit: &'static str,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let rolled = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&rolled);
    let roll = tool(
        "roll_die",
        "Rolls a die with the given number of sides.",
        move |args: RollArgs| {
            let counter = Arc::clone(&counter);
            async move {
                if !(2..=1000).contains(&args.sides) {
                    return Err("a die has 2 to 1000 sides".into());
                }
                counter.fetch_add(1, Ordering::Relaxed);
                Ok(1 + fastrand::u32(..args.sides))
            }
        },
    );
    let convert = tool(
        "convert_temperature",
        "Converts a temperature between Celsius and Fahrenheit.",
        |args: ConvertArgs| async move {
            Ok(match args.to {
                Scale::Fahrenheit => Converted {
                    value: args.value * 9.0 / 5.0 + 32.0,
                    unit: "°F",
                },
                Scale::Celsius => Converted {
                    value: (args.value - 32.0) * 5.0 / 9.0,
                    unit: "°C",
                },
            })
        },
    );
    let code = Cli::new()
        .tool(roll)
        // Ask on the terminal before each conversion, as `confirm = true` does in agent.toml.
        .tool_with(convert, ToolOverrides::default().requires_approval(true))
        .run_from_env()
        .await;
    // Your own clean-up runs here, however the session ended.
    eprintln!(
        "custom_cli: {} dice rolled this session",
        rolled.load(Ordering::Relaxed)
    );
    code.into()
}
