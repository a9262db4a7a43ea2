//! Token usage summed over a session, and what it costs.

use serde::{Deserialize, Serialize};

use crate::protocol::Usage;

/// Token counts summed over every `response.done` of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UsageTotals {
    /// Responses counted.
    pub responses: u64,
    /// Text input tokens (cached ones included).
    pub text_in: u64,
    /// Cached text input tokens.
    pub cached_text_in: u64,
    /// Audio input tokens (cached ones included).
    pub audio_in: u64,
    /// Cached audio input tokens.
    pub cached_audio_in: u64,
    /// Image input tokens.
    pub image_in: u64,
    /// Text output tokens.
    pub text_out: u64,
    /// Audio output tokens.
    pub audio_out: u64,
}

impl UsageTotals {
    /// Adds one response's usage.
    pub fn add(&mut self, usage: &Usage) {
        self.responses += 1;
        if let Some(input) = &usage.input_token_details {
            self.text_in += input.text_tokens;
            self.audio_in += input.audio_tokens;
            self.image_in += input.image_tokens.unwrap_or(0);
            match &input.cached_tokens_details {
                Some(cached) => {
                    self.cached_text_in += cached.text_tokens;
                    self.cached_audio_in += cached.audio_tokens;
                }
                // Without a breakdown, count cached tokens as text (the cheaper assumption
                // would understate cost; text and audio cached prices are equal for GA).
                None => self.cached_text_in += input.cached_tokens,
            }
        } else {
            self.text_in += usage.input_tokens;
        }
        if let Some(output) = &usage.output_token_details {
            self.text_out += output.text_tokens;
            self.audio_out += output.audio_tokens;
        } else {
            self.text_out += usage.output_tokens;
        }
    }

    /// All input tokens.
    pub fn input(&self) -> u64 {
        self.text_in + self.audio_in + self.image_in
    }

    /// All output tokens.
    pub fn output(&self) -> u64 {
        self.text_out + self.audio_out
    }

    /// The cost in USD at `prices`.
    pub fn cost(&self, prices: &Prices) -> f64 {
        let per = |tokens: u64, usd_per_million: f64| tokens as f64 * usd_per_million / 1e6;
        let uncached_text = self.text_in.saturating_sub(self.cached_text_in) + self.image_in;
        let uncached_audio = self.audio_in.saturating_sub(self.cached_audio_in);
        per(uncached_text, prices.text_in)
            + per(self.cached_text_in, prices.cached_text_in)
            + per(uncached_audio, prices.audio_in)
            + per(self.cached_audio_in, prices.cached_audio_in)
            + per(self.text_out, prices.text_out)
            + per(self.audio_out, prices.audio_out)
    }
}

/// Prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// Text input.
    pub text_in: f64,
    /// Cached text input.
    pub cached_text_in: f64,
    /// Text output.
    pub text_out: f64,
    /// Audio input.
    pub audio_in: f64,
    /// Cached audio input.
    pub cached_audio_in: f64,
    /// Audio output.
    pub audio_out: f64,
}

impl Prices {
    /// The published price of `model` (dated snapshots are priced as their family), if known.
    ///
    /// Figures from OpenAI's model pages as collected in the protocol notes; override them in
    /// `agent.toml` (`[prices."model"]`) when they change.
    pub fn for_model(model: &str) -> Option<Prices> {
        let p = |text_in, cached_text_in, text_out, audio_in, cached_audio_in, audio_out| Prices {
            text_in,
            cached_text_in,
            text_out,
            audio_in,
            cached_audio_in,
            audio_out,
        };
        // The launch snapshot had its own audio prices.
        if model == "gpt-4o-realtime-preview-2024-10-01" {
            return Some(p(5.0, 2.5, 20.0, 100.0, 20.0, 200.0));
        }
        match strip_date(model) {
            "gpt-4o-realtime-preview" => Some(p(5.0, 2.5, 20.0, 40.0, 2.5, 80.0)),
            "gpt-4o-mini-realtime-preview" => Some(p(0.6, 0.3, 2.4, 10.0, 0.3, 20.0)),
            "gpt-realtime" | "gpt-realtime-1.5" => Some(p(4.0, 0.4, 16.0, 32.0, 0.4, 64.0)),
            "gpt-realtime-2" => Some(p(4.0, 0.4, 24.0, 32.0, 0.4, 64.0)),
            _ => None,
        }
    }
}

/// `gpt-realtime-2025-08-28` -> `gpt-realtime`: dated snapshots are priced as their family.
fn strip_date(model: &str) -> &str {
    let bytes = model.as_bytes();
    let n = bytes.len();
    let is_date = n > 11
        && bytes[n - 11] == b'-'
        && bytes[n - 6] == b'-'
        && bytes[n - 3] == b'-'
        && [n - 10, n - 9, n - 8, n - 7, n - 5, n - 4, n - 2, n - 1]
            .iter()
            .all(|&i| bytes[i].is_ascii_digit());
    if is_date { &model[..n - 11] } else { model }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CachedTokenDetails, InputTokenDetails, OutputTokenDetails};

    #[test]
    fn cost_uses_cached_prices_for_cached_tokens() {
        let usage = Usage {
            input_tokens: 1_100,
            output_tokens: 300,
            input_token_details: Some(InputTokenDetails {
                text_tokens: 1_000,
                audio_tokens: 100,
                cached_tokens: 500,
                cached_tokens_details: Some(CachedTokenDetails {
                    text_tokens: 500,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            output_token_details: Some(OutputTokenDetails {
                text_tokens: 100,
                audio_tokens: 200,
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut totals = UsageTotals::default();
        totals.add(&usage);
        let prices = Prices::for_model("gpt-realtime-2025-08-28").unwrap();
        // 500×4 + 500×0.4 + 100×32 + 100×16 + 200×64, per million.
        let expected = (2000.0 + 200.0 + 3200.0 + 1600.0 + 12800.0) / 1e6;
        assert!((totals.cost(&prices) - expected).abs() < 1e-12);
        assert_eq!(Prices::for_model("gpt-realtime-2").unwrap().text_out, 24.0);
        assert_eq!(Prices::for_model("unknown-model"), None);
        assert_eq!(
            Prices::for_model("gpt-realtime-2.1-mini"),
            None,
            "no published price"
        );
        assert_eq!(
            strip_date("gpt-4o-realtime-preview-2024-12-17"),
            "gpt-4o-realtime-preview"
        );
    }
}
