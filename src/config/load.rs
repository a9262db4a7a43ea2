//! Parsing and checking `agent.toml`: syntax, unknown keys, types, ranges, files, tools.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{ConfigError, ConfigErrorKind, Source};
use super::keys;
use super::sections::{
    AgentSection, AudioSection, TranscriptionSection, TurnDetectionKind, TurnDetectionSection,
};
use super::serve::ServeSection;
use super::{Config, agents, base_dir, tools};
use crate::agent::Prices;

pub(crate) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let source = Source { path, text };
    let root = DeTable::parse(text).map_err(|error| {
        source.error(
            error.span(),
            None,
            format!("invalid TOML: {}", error.message().trim()),
            ConfigErrorKind::Syntax,
        )
    })?;
    let root = root.get_ref();
    keys::check(&source, root, "", "agent.toml", keys::TOP, |_| None)?;

    let mut agent: AgentSection = section(&source, root, "agent", keys::AGENT)?.unwrap_or_default();
    let turn_detection = turn_detection(&source, root)?;
    let transcription: TranscriptionSection =
        section(&source, root, "transcription", keys::TRANSCRIPTION)?.unwrap_or_default();
    let audio: AudioSection = section(&source, root, "audio", keys::AUDIO)?.unwrap_or_default();
    let prices = prices(&source, root)?;
    let serve: ServeSection = section(&source, root, "serve", keys::SERVE)?.unwrap_or_default();

    let dir = base_dir(Some(path));
    check_agent(&source, root, &mut agent, &dir)?;
    check_turn_detection(&source, root, turn_detection.as_ref())?;
    check_audio(&source, root, &audio)?;
    super::serve::check(&source, super::serve::table(root), &serve)?;
    let key_var = agent
        .api_key_env
        .as_deref()
        .unwrap_or(super::DEFAULT_API_KEY_ENV);
    let secrets = super::secret_vars::find(root, key_var);
    let (tools, hosted_mcp) =
        tools::load(&source, root, &dir, &secrets, agent.api.unwrap_or_default())?;
    let agents = agents::load(&source, root, &agent, &tools)?;
    #[cfg(feature = "mcp")]
    let mcp = super::mcp::load(&source, root, &dir, &secrets)?;
    #[cfg(not(feature = "mcp"))]
    if let Some(value) = root.get("mcp") {
        return Err(source.invalid(
            Some(value.span()),
            "mcp",
            "this build has no MCP support: rebuild with the cargo feature `mcp`",
        ));
    }
    Ok(Config {
        agents,
        path: Some(path.to_path_buf()),
        agent,
        turn_detection,
        transcription,
        audio,
        tools,
        hosted_mcp,
        #[cfg(feature = "mcp")]
        mcp,
        prices,
        serve,
        secrets,
    })
}

/// Deserializes `value` (at dotted `path`) with errors placed in the file.
fn deserialize<T: DeserializeOwned>(
    source: &Source<'_>,
    path: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(ValueDeserializer::from(value.clone()))
        .map_err(|error| source.toml_error(path, error))
}

/// The table `name` of `root`, key-checked and typed; `None` when absent.
fn section<T: DeserializeOwned>(
    source: &Source<'_>,
    root: &DeTable<'_>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<T>, ConfigError> {
    let Some(value) = root.get(name) else {
        return Ok(None);
    };
    let table = keys::as_table(source, value, name)?;
    keys::check(source, table, name, &format!("[{name}]"), allowed, |_| None)?;
    deserialize(source, name, value).map(Some)
}

fn turn_detection(
    source: &Source<'_>,
    root: &DeTable<'_>,
) -> Result<Option<TurnDetectionSection>, ConfigError> {
    let Some(value) = root.get("turn_detection") else {
        return Ok(None);
    };
    let table = keys::as_table(source, value, "turn_detection")?;
    let kind = table
        .get("type")
        .and_then(|t| t.get_ref().as_str())
        .unwrap_or("server_vad");
    let allowed = match kind {
        "server_vad" => keys::SERVER_VAD,
        "semantic_vad" => keys::SEMANTIC_VAD,
        "none" => keys::NO_TURN_DETECTION,
        // An unknown type: the typed pass names it and the valid ones.
        _ => return deserialize(source, "turn_detection", value).map(Some),
    };
    keys::check(
        source,
        table,
        "turn_detection",
        &format!("[turn_detection] with type = \"{kind}\""),
        allowed,
        |key| {
            let owner = if keys::SERVER_VAD.contains(&key) {
                "server_vad"
            } else if keys::SEMANTIC_VAD.contains(&key) {
                "semantic_vad"
            } else {
                return None;
            };
            Some(format!(
                "`{key}` is a setting of type = \"{owner}\", not of type = \"{kind}\""
            ))
        },
    )?;
    deserialize(source, "turn_detection", value).map(Some)
}

fn prices(
    source: &Source<'_>,
    root: &DeTable<'_>,
) -> Result<BTreeMap<String, Prices>, ConfigError> {
    let mut prices = BTreeMap::new();
    let Some(value) = root.get("prices") else {
        return Ok(prices);
    };
    let table = keys::as_table(source, value, "prices")?;
    for (model, entry) in table.iter() {
        let path = format!("prices.\"{}\"", model.get_ref());
        let fields = keys::as_table(source, entry, &path)?;
        keys::check(
            source,
            fields,
            &path,
            "a [prices.\"model\"] table",
            keys::PRICES,
            |_| None,
        )?;
        let price: Prices = deserialize(source, &path, entry)?;
        for (name, amount) in price_fields(&price) {
            if !(amount.is_finite() && amount >= 0.0) {
                return Err(source.invalid(
                    span_of(fields, name),
                    &format!("{path}.{name}"),
                    format!("{amount} is not a price: give USD per million tokens, 0 or more"),
                ));
            }
        }
        prices.insert(model.get_ref().to_string(), price);
    }
    Ok(prices)
}

fn price_fields(p: &Prices) -> [(&'static str, f64); 6] {
    [
        ("text_in", p.text_in),
        ("cached_text_in", p.cached_text_in),
        ("text_out", p.text_out),
        ("audio_in", p.audio_in),
        ("cached_audio_in", p.cached_audio_in),
        ("audio_out", p.audio_out),
    ]
}

/// The span of the value at `key` in `table`.
fn span_of(table: &DeTable<'_>, key: &str) -> Option<Range<usize>> {
    table.get(key).map(Spanned::span)
}

/// The table `name` of `root`, when present and a table.
fn table_of<'a, 'i>(root: &'a DeTable<'i>, name: &str) -> Option<&'a DeTable<'i>> {
    match root.get(name).map(Spanned::get_ref) {
        Some(DeValue::Table(table)) => Some(table),
        _ => None,
    }
}

/// `value` must lie in `low..=high` when set.
fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    source: &Source<'_>,
    table: Option<&DeTable<'_>>,
    section: &str,
    key: &str,
    value: Option<T>,
    (low, high): (T, T),
    unit: &str,
) -> Result<(), ConfigError> {
    match value {
        Some(v) if !(v >= low && v <= high) => Err(source.invalid(
            table.and_then(|t| span_of(t, key)),
            &format!("{section}.{key}"),
            format!("{v} is out of range: use {low} to {high}{unit}"),
        )),
        _ => Ok(()),
    }
}

fn check_agent(
    source: &Source<'_>,
    root: &DeTable<'_>,
    agent: &mut AgentSection,
    dir: &Path,
) -> Result<(), ConfigError> {
    let table = table_of(root, "agent");
    let span = |key: &str| table.and_then(|t| span_of(t, key));
    in_range(
        source,
        table,
        "agent",
        "temperature",
        agent.temperature,
        (0.6, 1.2),
        "",
    )?;
    in_range(
        source,
        table,
        "agent",
        "speed",
        agent.speed,
        (0.25, 1.5),
        "",
    )?;
    if let Some(crate::protocol::MaxTokens::Limit(n)) = agent.max_output_tokens {
        in_range(
            source,
            table,
            "agent",
            "max_output_tokens",
            Some(n),
            (1, 4096),
            " (or \"inf\")",
        )?;
    }
    if let Some(modalities) = &agent.output_modalities
        && modalities.is_empty()
    {
        return Err(source.invalid(
            span("output_modalities"),
            "agent.output_modalities",
            "give [\"audio\"] (spoken answers with transcripts) or [\"text\"]",
        ));
    }
    if let Some(name) = &agent.api_key_env {
        check_env_var_name(source, span("api_key_env"), name)?;
    }
    if let Some(url) = &agent.url {
        check_url(source, span("url"), url)?;
    }
    if let Some(file) = &agent.instructions_file {
        if agent.instructions.is_some() {
            return Err(source.invalid(
                span("instructions_file"),
                "agent.instructions_file",
                "give `instructions` or `instructions_file`, not both",
            ));
        }
        let full = dir.join(file);
        let text = std::fs::read_to_string(&full).map_err(|error| {
            source.invalid(
                span("instructions_file"),
                "agent.instructions_file",
                format!("cannot read {}: {error}", full.display()),
            )
        })?;
        agent.instructions = Some(text.trim_end().to_owned());
    }
    Ok(())
}

fn check_env_var_name(
    source: &Source<'_>,
    span: Option<Range<usize>>,
    name: &str,
) -> Result<(), ConfigError> {
    if name.starts_with("sk-") || name.starts_with("ek_") {
        // The line itself holds the key: leave it out of the rendered error.
        return Err(source
            .invalid(
                span,
                "agent.api_key_env",
                "this looks like an API key: `api_key_env` names the environment variable that \
                 holds the key (e.g. \"OPENAI_API_KEY\"); never put the key itself in \
                 agent.toml, and revoke this one if the file was shared",
            )
            .without_source_line());
    }
    let valid = crate::secret::is_env_var_name(name);
    if !valid {
        return Err(source.invalid(
            span,
            "agent.api_key_env",
            format!("{name:?} is not an environment variable name (letters, digits and _)"),
        ));
    }
    Ok(())
}

fn check_url(
    source: &Source<'_>,
    span: Option<Range<usize>>,
    url: &str,
) -> Result<(), ConfigError> {
    let problem = match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "ws" | "wss" | "http" | "https") => return Ok(()),
        Ok(parsed) => format!("the scheme must be wss or ws, not `{}`", parsed.scheme()),
        Err(error) => format!("not a URL: {error}"),
    };
    Err(source.invalid(span, "agent.url", problem))
}

fn check_turn_detection(
    source: &Source<'_>,
    root: &DeTable<'_>,
    section: Option<&TurnDetectionSection>,
) -> Result<(), ConfigError> {
    let Some(td) = section else {
        return Ok(());
    };
    let table = table_of(root, "turn_detection");
    let name = "turn_detection";
    in_range(
        source,
        table,
        name,
        "threshold",
        td.threshold,
        (0.0, 1.0),
        "",
    )?;
    in_range(
        source,
        table,
        name,
        "prefix_padding_ms",
        td.prefix_padding_ms,
        (0, 10_000),
        " ms",
    )?;
    in_range(
        source,
        table,
        name,
        "silence_duration_ms",
        td.silence_duration_ms,
        (0, 10_000),
        " ms",
    )?;
    if td.kind == TurnDetectionKind::ServerVad {
        in_range(
            source,
            table,
            name,
            "idle_timeout_ms",
            td.idle_timeout_ms,
            (5_000, 30_000),
            " ms",
        )?;
    }
    Ok(())
}

fn check_audio(
    source: &Source<'_>,
    root: &DeTable<'_>,
    audio: &AudioSection,
) -> Result<(), ConfigError> {
    let table = table_of(root, "audio");
    in_range(
        source,
        table,
        "audio",
        "frame_ms",
        audio.frame_ms,
        (5, 1_000),
        " ms",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ConfigError {
        parse(text, Path::new("agent.toml")).expect_err("the configuration is refused")
    }

    #[test]
    fn unknown_keys_name_their_place_and_the_nearest_key() {
        let e = error("[agent]\nmodel = \"m\"\nvocie = \"marin\"\n");
        assert_eq!(
            e.to_string(),
            "agent.toml:3:1: `agent.vocie`: unknown key in [agent]; did you mean `voice`?"
        );
        assert_eq!(e.suggestion(), Some("voice"));
        let e = error("[agnet]\nmodel = \"m\"\n");
        assert_eq!(
            e.to_string(),
            "agent.toml:1:2: `agnet`: unknown key in agent.toml; did you mean `agent`?"
        );
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let e = error("[agent]\ntemperature = \"warm\"\n");
        assert_eq!(e.position().map(|p| (p.line, p.column)), Some((2, 15)));
        assert_eq!(e.key(), Some("agent.temperature"));
        assert!(e.message().contains("expected a number"), "{}", e.message());
    }

    #[test]
    fn turn_detection_keys_depend_on_the_type() {
        let e = error("[turn_detection]\ntype = \"semantic_vad\"\nthreshold = 0.5\n");
        assert_eq!(
            e.to_string(),
            "agent.toml:3:1: `turn_detection.threshold`: `threshold` is a setting of type = \
             \"server_vad\", not of type = \"semantic_vad\""
        );
    }

    #[test]
    fn ranges_are_checked() {
        let e = error("[turn_detection]\nthreshold = 1.5\n");
        assert_eq!(
            e.to_string(),
            "agent.toml:2:13: `turn_detection.threshold`: 1.5 is out of range: use 0 to 1"
        );
    }

    #[test]
    fn keys_in_files_are_refused() {
        let e = error("[agent]\napi_key_env = \"sk-abc123\"\n");
        assert!(e.message().contains("looks like an API key"), "{e}");
        assert!(!e.render().contains("sk-abc123"), "{}", e.render());
    }
}
