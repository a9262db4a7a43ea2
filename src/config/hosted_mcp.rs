//! `[[tools]] kind = "hosted_mcp"`: remote MCP servers that the Realtime API (GA) calls itself,
//! checked at load so that a bad entry is an error with its line, column and key.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{ConfigError, ConfigErrorKind, Source};
use crate::agent::HostedMcp;
use crate::protocol::{Dialect, RequireApproval};

/// One `kind = "hosted_mcp"` entry as written (`kind` removed).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    server_label: String,
    server_url: Option<String>,
    connector_id: Option<String>,
    allowed_tools: Option<Vec<String>>,
    require_approval: Option<Approval>,
    authorization_env: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    server_description: Option<String>,
}

/// `require_approval = "always" | "never"` or `{ always = [..], never = [..] }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Approval {
    Word(String),
    PerTool {
        #[serde(default)]
        always: Vec<String>,
        #[serde(default)]
        never: Vec<String>,
    },
}

/// Reads one hosted MCP entry of `[[tools]]` at `path`.
pub(super) fn load_one(
    source: &Source<'_>,
    span: Range<usize>,
    table: &DeTable<'_>,
    path: &str,
    dialect: Dialect,
) -> Result<HostedMcp, ConfigError> {
    let at = |key: &str| table.get(key).map(Spanned::span).or(Some(span.clone()));
    let invalid =
        |key: &str, message: String| source.invalid(at(key), &format!("{path}.{key}"), message);
    if dialect == Dialect::Beta {
        return Err(invalid(
            "kind",
            "hosted MCP needs the GA interface: the beta interface (api = \"beta\") has no MCP \
             tools; remove `api = \"beta\"` or this entry"
                .into(),
        ));
    }
    let mut fields = table.clone();
    fields.remove("kind");
    let value = Spanned::new(span.clone(), DeValue::Table(fields));
    let entry: Entry = serde_path_to_error::deserialize(ValueDeserializer::from(value))
        .map_err(|error| source.toml_error(path, error))?;
    if entry.server_label.trim().is_empty() {
        return Err(invalid(
            "server_label",
            "give the server a label (the model, events and approvals know it by it)".into(),
        ));
    }
    let mut server = match (entry.server_url, entry.connector_id) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "connector_id",
                "give `server_url` or `connector_id`, not both".into(),
            ));
        }
        (None, None) => {
            return Err(source.invalid(
                Some(span),
                &format!("{path}.server_url"),
                "missing `server_url` or `connector_id`: say which MCP server the API calls \
                 (server_url = \"https://…\", or connector_id = \"connector_…\")",
            ));
        }
        (Some(url), None) => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(invalid(
                    "server_url",
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
            HostedMcp::url(entry.server_label, url)
        }
        (None, Some(connector)) => {
            if connector.trim().is_empty() {
                return Err(invalid(
                    "connector_id",
                    "the connector id cannot be empty".into(),
                ));
            }
            HostedMcp::connector(entry.server_label, connector)
        }
    };
    if let Some(tools) = entry.allowed_tools {
        server = server.allowed_tools(tools);
    }
    if let Some(approval) = entry.require_approval {
        let require = match approval {
            Approval::Word(word) if word == "always" => RequireApproval::Always,
            Approval::Word(word) if word == "never" => RequireApproval::Never,
            Approval::Word(word) => {
                return Err(invalid(
                    "require_approval",
                    format!(
                        "{word:?} is not a choice: use \"always\", \"never\", or a table \
                         {{ always = [\"tool\", …], never = [\"tool\", …] }}"
                    ),
                ));
            }
            Approval::PerTool { always, never } => {
                if let Some(both) = always.iter().find(|t| never.contains(t)) {
                    return Err(invalid(
                        "require_approval",
                        format!("{both:?} is in both `always` and `never`"),
                    ));
                }
                RequireApproval::per_tool(always, never)
            }
        };
        server = server.require_approval(require);
    }
    if let Some(var) = entry.authorization_env {
        if !crate::secret::is_env_var_name(&var) {
            return Err(invalid(
                "authorization_env",
                format!(
                    "{var:?} is not an environment variable name: give the name of the variable \
                     that holds the token, never the token itself"
                ),
            ));
        }
        server = server.authorization_env(var);
    }
    if let Some(headers) = entry.headers {
        server = server.headers(headers);
    }
    if let Some(description) = entry.server_description {
        server = server.server_description(description);
    }
    Ok(server)
}

/// A second hosted server with the label of an earlier one.
pub(super) fn duplicate(
    source: &Source<'_>,
    table: &DeTable<'_>,
    path: &str,
    label: &str,
) -> ConfigError {
    source.error(
        table.get("server_label").map(Spanned::span),
        Some(format!("{path}.server_label")),
        format!("a hosted MCP server labelled {label:?} is declared twice; labels must be unique"),
        ConfigErrorKind::Tool,
    )
}
