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

use realtime_agent::cli::Cli;
use realtime_agent::tool::{BoxError, ToolOverrides, tool_fn, tool_fn_without_context};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A die roll.
#[derive(Deserialize, JsonSchema)]
struct RollArgs {
    /// How many sides the die has (2 to 1000).
    sides: u32,
}

/// Which way to convert.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Scale {
    /// To Celsius.
    Celsius,
    /// To Fahrenheit.
    Fahrenheit,
}

/// A temperature to convert.
#[derive(Deserialize, JsonSchema)]
struct ConvertArgs {
    /// The temperature.
    value: f64,
    /// The scale to convert it to.
    to: Scale,
}

/// The converted temperature, sent to the model as JSON.
#[derive(Serialize)]
struct Converted {
    value: f64,
    unit: &'static str,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let roll = tool_fn(
        "roll_die",
        "Rolls a die with the given number of sides.",
        |args: RollArgs, _ctx| async move {
            if !(2..=1000).contains(&args.sides) {
                return Err::<u32, BoxError>("a die has 2 to 1000 sides".into());
            }
            Ok(1 + fastrand::u32(..args.sides))
        },
    );
    let convert = tool_fn_without_context(
        "convert_temperature",
        "Converts a temperature between Celsius and Fahrenheit.",
        |args: ConvertArgs| async move {
            Ok::<_, BoxError>(match args.to {
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
    Cli::new()
        .tool(roll)
        // Ask on the terminal before each conversion, as `confirm = true` does in agent.toml.
        .tool_with(convert, ToolOverrides::default().requires_approval(true))
        .run_from_env()
        .await
        .into()
}
