//! The end of a session: tokens by type and what they cost.

use crate::agent::{Prices, SessionSummary, UsageTotals};

use super::render::format_ms;

/// Where the prices came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PriceSource {
    /// `[prices."model"]` in agent.toml.
    Config(Prices),
    /// The built-in table.
    BuiltIn(Prices),
    /// No price is known for the model.
    Unknown,
    /// The simulated model: nothing is billed.
    Simulated,
}

/// The lines printed when a session ends.
pub(crate) fn report(summary: &SessionSummary, model: &str, prices: PriceSource) -> String {
    let usage = &summary.usage;
    let mut text = format!(
        "session: {}, {} {}, {} tool {}",
        format_ms(summary.duration.as_millis() as u64),
        usage.responses,
        plural(usage.responses, "response", "responses"),
        summary.tool_calls,
        plural(summary.tool_calls, "call", "calls"),
    );
    if usage.responses == 0 {
        return text;
    }
    text.push_str(&format!("\ntokens:  {}", tokens(usage)));
    text.push_str("\ncost:    ");
    match prices {
        PriceSource::Simulated => text.push_str("none (simulated model, nothing billed)"),
        PriceSource::Config(p) => text.push_str(&format!(
            "${} at the agent.toml prices for {model}",
            dollars(usage.cost(&p))
        )),
        PriceSource::BuiltIn(p) => text.push_str(&format!(
            "${} at the published prices for {model} (override with [prices.\"{model}\"] in \
             agent.toml)",
            dollars(usage.cost(&p))
        )),
        PriceSource::Unknown => text.push_str(&format!(
            "unknown: no price is known for model `{model}`. Add it to agent.toml (USD per \
             million tokens):\n         [prices.\"{model}\"]\n         text_in = 4.0\n         \
             cached_text_in = 0.4\n         text_out = 16.0\n         audio_in = 32.0\n         \
             cached_audio_in = 0.4\n         audio_out = 64.0"
        )),
    }
    text
}

/// `input text 1200 (cached 500), audio 300 (cached 0); output text 80, audio 400`.
fn tokens(u: &UsageTotals) -> String {
    let mut input = format!(
        "input text {} (cached {}), audio {} (cached {})",
        u.text_in, u.cached_text_in, u.audio_in, u.cached_audio_in
    );
    if u.image_in > 0 {
        input.push_str(&format!(", image {}", u.image_in));
    }
    format!("{input}; output text {}, audio {}", u.text_out, u.audio_out)
}

/// Dollars with enough digits to show small sessions (`0.0123`, `1.25`).
fn dollars(amount: f64) -> String {
    if amount >= 1.0 {
        format!("{amount:.2}")
    } else {
        format!("{amount:.4}")
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn usage_and_cost_per_type() {
        let summary = SessionSummary {
            usage: UsageTotals {
                responses: 2,
                text_in: 1000,
                cached_text_in: 500,
                audio_in: 100,
                cached_audio_in: 0,
                image_in: 0,
                text_out: 100,
                audio_out: 200,
            },
            tool_calls: 1,
            duration: Duration::from_millis(83_000),
        };
        let prices = Prices::for_model("gpt-realtime").unwrap();
        assert_eq!(
            report(&summary, "gpt-realtime", PriceSource::BuiltIn(prices)),
            "session: 1 min 23 s, 2 responses, 1 tool call\n\
             tokens:  input text 1000 (cached 500), audio 100 (cached 0); output text 100, audio 200\n\
             cost:    $0.0198 at the published prices for gpt-realtime (override with \
             [prices.\"gpt-realtime\"] in agent.toml)"
        );
        let unknown = report(&summary, "my-model", PriceSource::Unknown);
        assert!(
            unknown.contains("no price is known for model `my-model`")
                && unknown.contains("[prices.\"my-model\"]"),
            "{unknown}"
        );
    }
}
