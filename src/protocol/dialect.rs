//! The two wire dialects of the Realtime API and the one place that maps their event names.

use serde::{Deserialize, Serialize};

/// Which shape of the Realtime protocol a session speaks.
///
/// The crate has one internal event model; the dialect only matters at the edge, when events are
/// encoded for the wire and when the connection is opened (the beta dialect sends the
/// `OpenAI-Beta: realtime=v1` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// The generally available interface (`gpt-realtime`, no beta header). The default.
    #[default]
    Ga,
    /// The older beta interface (`OpenAI-Beta: realtime=v1`), still spoken by proxies and older
    /// Azure deployments.
    Beta,
}

impl Dialect {
    /// The name used on the command line and in `agent.toml` (`ga` or `beta`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Ga => "ga",
            Dialect::Beta => "beta",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ga" | "GA" => Ok(Dialect::Ga),
            "beta" => Ok(Dialect::Beta),
            other => Err(format!(
                "unknown API dialect `{other}` (expected `ga` or `beta`)"
            )),
        }
    }
}

/// Server event types whose name differs between the dialects, as `(ga, beta)` pairs.
///
/// Every other event type has the same name in both. `conversation.item.added`/`.done` (GA) versus
/// `conversation.item.created` (beta) is not a rename but a different lifecycle, so it is not here.
pub const RENAMED_SERVER_EVENTS: &[(&str, &str)] = &[
    ("response.output_text.delta", "response.text.delta"),
    ("response.output_text.done", "response.text.done"),
    ("response.output_audio.delta", "response.audio.delta"),
    ("response.output_audio.done", "response.audio.done"),
    (
        "response.output_audio_transcript.delta",
        "response.audio_transcript.delta",
    ),
    (
        "response.output_audio_transcript.done",
        "response.audio_transcript.done",
    ),
];

/// The wire name of a server event type in `dialect`, given its GA name.
pub fn server_event_name(ga_name: &'static str, dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Ga => ga_name,
        Dialect::Beta => RENAMED_SERVER_EVENTS
            .iter()
            .find(|(ga, _)| *ga == ga_name)
            .map_or(ga_name, |(_, beta)| beta),
    }
}
