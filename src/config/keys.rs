//! The keys each table of `agent.toml` accepts, and the nearest valid key for a typo.

use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, ConfigErrorKind, Source};

/// Top-level tables.
pub(crate) const TOP: &[&str] = &[
    "agent",
    "turn_detection",
    "transcription",
    "audio",
    "tools",
    "mcp",
    "prices",
    "agents",
    "serve",
];
/// `[agent]`.
pub(crate) const AGENT: &[&str] = &[
    "model",
    "api",
    "url",
    "voice",
    "instructions",
    "instructions_file",
    "output_modalities",
    "temperature",
    "speed",
    "max_output_tokens",
    "api_key_env",
    "tools",
    "handoffs",
];
/// `[agents.NAME]`.
pub(crate) const AGENT_ENTRY: &[&str] = &["instructions", "tools", "handoffs", "voice"];
/// `[turn_detection]` with `type = "server_vad"`.
pub(crate) const SERVER_VAD: &[&str] = &[
    "type",
    "threshold",
    "prefix_padding_ms",
    "silence_duration_ms",
    "idle_timeout_ms",
    "create_response",
    "interrupt_response",
];
/// `[turn_detection]` with `type = "semantic_vad"`.
pub(crate) const SEMANTIC_VAD: &[&str] =
    &["type", "eagerness", "create_response", "interrupt_response"];
/// `[turn_detection]` with `type = "none"`.
pub(crate) const NO_TURN_DETECTION: &[&str] = &["type"];
/// `[transcription]`.
pub(crate) const TRANSCRIPTION: &[&str] = &["enabled", "model", "language", "prompt"];
/// `[audio]`.
pub(crate) const AUDIO: &[&str] = &[
    "input_device",
    "output_device",
    "host",
    "half_duplex",
    "echo_cancellation",
    "frame_ms",
    "noise_reduction",
];
/// `[serve]`.
pub(crate) const SERVE: &[&str] = &[
    "listen",
    "public_url",
    "max_sessions",
    "drain_timeout",
    "token_env",
    "twilio_auth_token_env",
    "openai_webhook_secret_env",
    "dtmf_as_text",
];
/// `[prices."model"]`.
pub(crate) const PRICES: &[&str] = &[
    "text_in",
    "cached_text_in",
    "text_out",
    "audio_in",
    "cached_audio_in",
    "audio_out",
];
/// `[[mcp]]`.
pub(crate) const MCP: &[&str] = &[
    "name",
    "command",
    "args",
    "env",
    "url",
    "bearer_token_env",
    "tools",
    "prefix",
    "confirm",
    "timeout",
    "on_interrupt",
];
/// Keys every `[[tools]]` entry accepts.
const TOOL_COMMON: &[&str] = &[
    "kind",
    "name",
    "description",
    "parameters",
    "timeout",
    "confirm",
    "on_interrupt",
    "filler_after_ms",
];
/// Keys only `kind = "command"` tools accept.
const TOOL_COMMAND: &[&str] = &[
    "program",
    "args",
    "cwd",
    "inherit_env",
    "pass_env",
    "env",
    "max_output_bytes",
];
/// Keys only `kind = "http"` tools accept.
const TOOL_HTTP: &[&str] = &["method", "url", "headers", "max_response_bytes"];
/// Keys a `kind = "hosted_mcp"` entry accepts.
pub(crate) const TOOL_HOSTED_MCP: &[&str] = &[
    "kind",
    "server_label",
    "server_url",
    "connector_id",
    "allowed_tools",
    "require_approval",
    "authorization_env",
    "headers",
    "server_description",
];
/// The tool kinds.
pub(crate) const TOOL_KINDS: &[&str] = &["command", "http", "hosted_mcp"];

/// The keys a tool of `kind` accepts, and those of the other kind (for a better message).
pub(crate) fn tool_keys(kind: &str) -> (Vec<&'static str>, &'static [&'static str]) {
    let (own, other) = match kind {
        "http" => (TOOL_HTTP, TOOL_COMMAND),
        _ => (TOOL_COMMAND, TOOL_HTTP),
    };
    (TOOL_COMMON.iter().chain(own).copied().collect(), other)
}

/// Checks that `table` (at dotted `path`, shown to the user as `label`) holds only `allowed`
/// keys. The first unknown key in the file's order is reported, with the nearest valid key.
/// `elsewhere` explains keys that belong to another variant of the table.
pub(crate) fn check(
    source: &Source<'_>,
    table: &DeTable<'_>,
    path: &str,
    label: &str,
    allowed: &[&str],
    elsewhere: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let mut unknown: Vec<_> = table
        .keys()
        .filter(|key| !allowed.contains(&key.get_ref().as_ref()))
        .collect();
    unknown.sort_by_key(|key| key.span().start);
    let Some(key) = unknown.first() else {
        return Ok(());
    };
    let name: &str = key.get_ref();
    let full = if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    };
    if let Some(explanation) = elsewhere(name) {
        return Err(source.error(
            Some(key.span()),
            Some(full),
            explanation,
            ConfigErrorKind::UnknownKey { suggestion: None },
        ));
    }
    let suggestion = nearest(name, allowed).map(str::to_owned);
    let message = match &suggestion {
        Some(near) => format!("unknown key in {label}; did you mean `{near}`?"),
        None => format!("unknown key in {label}; valid keys: {}", allowed.join(", ")),
    };
    Err(source.error(
        Some(key.span()),
        Some(full),
        message,
        ConfigErrorKind::UnknownKey { suggestion },
    ))
}

/// The table at `value`, or an error saying `path` must be a table.
pub(crate) fn as_table<'a, 'i>(
    source: &Source<'_>,
    value: &'a toml::Spanned<DeValue<'i>>,
    path: &str,
) -> Result<&'a DeTable<'i>, ConfigError> {
    match value.get_ref() {
        DeValue::Table(table) => Ok(table),
        other => Err(source.invalid(
            Some(value.span()),
            path,
            format!("expected a table, found {}", other.type_str()),
        )),
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| (edit_distance(&word, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours each cost 1 (so `modle` is one step from `model`).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_key() {
        assert_eq!(edit_distance("modle", "model"), 1);
        assert_eq!(nearest("modle", AGENT), Some("model"));
        assert_eq!(nearest("temprature", AGENT), Some("temperature"));
        assert_eq!(nearest("instruction", AGENT), Some("instructions"));
        assert_eq!(nearest("colour", AGENT), None);
        assert_eq!(nearest("agnet", TOP), Some("agent"));
    }
}
