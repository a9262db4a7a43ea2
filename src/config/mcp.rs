//! `[[mcp]]`: MCP servers whose tools the agent offers, checked at load so that a bad entry is an
//! error with its line, column and key.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{ConfigError, ConfigErrorKind, Position, Source};
use super::keys;
use super::secret_vars::SecretVar;
use crate::mcp::{McpConfirm, McpServer};
use crate::tool::OnInterrupt;

/// One `[[mcp]]` entry as written.
#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    command: Option<String>,
    #[serde(default)]
    args: Option<Vec<String>>,
    #[serde(default)]
    env: Option<BTreeMap<String, String>>,
    url: Option<String>,
    bearer_token_env: Option<String>,
    tools: Option<Vec<String>>,
    prefix: Option<String>,
    confirm: Option<Confirm>,
    timeout: Option<f64>,
    on_interrupt: Option<OnInterrupt>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Confirm {
    All(bool),
    Tools(Vec<String>),
}

/// Reads every `[[mcp]]` entry of `root`.
pub(crate) fn load(
    source: &Source<'_>,
    root: &DeTable<'_>,
    base_dir: &Path,
    secrets: &[SecretVar],
) -> Result<Vec<McpServer>, ConfigError> {
    let Some(value) = root.get("mcp") else {
        return Ok(Vec::new());
    };
    let DeValue::Array(entries) = value.get_ref() else {
        return Err(source.invalid(
            Some(value.span()),
            "mcp",
            format!(
                "expected [[mcp]] tables, found {}",
                value.get_ref().type_str()
            ),
        ));
    };
    let mut servers: Vec<McpServer> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("mcp[{index}]");
        let table = keys::as_table(source, entry, &path)?;
        keys::check(source, table, &path, "[[mcp]]", keys::MCP, |_| None)?;
        let server = load_one(source, entry, table, &path, base_dir, secrets)?;
        if let Some(first) = servers
            .iter()
            .find(|s| s.server_name() == server.server_name())
        {
            return Err(source.error(
                table.get("name").map(Spanned::span),
                Some(format!("{path}.name")),
                format!(
                    "an MCP server named {:?} is declared twice (first at {}); server names \
                     must be unique",
                    server.server_name(),
                    first.declared_at().unwrap_or("above")
                ),
                ConfigErrorKind::Tool,
            ));
        }
        servers.push(server);
    }
    Ok(servers)
}

fn load_one(
    source: &Source<'_>,
    entry: &Spanned<DeValue<'_>>,
    table: &DeTable<'_>,
    path: &str,
    base_dir: &Path,
    secrets: &[SecretVar],
) -> Result<McpServer, ConfigError> {
    let entry_value: Entry =
        serde_path_to_error::deserialize(ValueDeserializer::from(entry.clone()))
            .map_err(|error| source.toml_error(path, error))?;
    let span = |key: &str| table.get(key).map(Spanned::span);
    let invalid = |key: &str, message: String| {
        source.invalid(
            span(key).or(Some(entry.span())),
            &format!("{path}.{key}"),
            message,
        )
    };
    let Entry {
        name,
        command,
        args,
        env,
        url,
        bearer_token_env,
        tools,
        prefix,
        confirm,
        timeout,
        on_interrupt,
    } = entry_value;
    if name.trim().is_empty() {
        return Err(invalid(
            "name",
            "give the server a name (used in `agent tools`, logs and errors)".into(),
        ));
    }
    let mut server = match (command, url) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "url",
                "give `command` (a program speaking MCP on stdio) or `url` (streamable HTTP), \
                 not both"
                    .into(),
            ));
        }
        (None, None) => {
            return Err(source.invalid(
                Some(entry.span()),
                &format!("{path}.command"),
                "missing `command` or `url`: say how to reach the server (command = \"npx\" \
                 with args, or url = \"http://127.0.0.1:3001/mcp\")",
            ));
        }
        (Some(command), None) => {
            if let Some(key) = ["bearer_token_env"]
                .into_iter()
                .find(|key| table.contains_key(*key))
            {
                return Err(invalid(
                    key,
                    "`bearer_token_env` is a setting of `url` servers; this one has `command`"
                        .into(),
                ));
            }
            if command.trim().is_empty() {
                return Err(invalid("command", "the program cannot be empty".into()));
            }
            let program = Path::new(&command);
            let command = if program.is_relative() && command.contains('/') {
                base_dir.join(program).to_string_lossy().into_owned()
            } else {
                command
            };
            let mut server = McpServer::stdio(command).args(args.unwrap_or_default());
            for (key, value) in env.unwrap_or_default() {
                let secret = secrets.iter().find(|secret| secret.name == key);
                if secret.is_some() || crate::tool::ALWAYS_WITHHELD.contains(&key.as_str()) {
                    let what = match secret {
                        Some(secret) if secret.setting != "agent.api_key_env" => {
                            format!("a secret ({} names it)", secret.setting)
                        }
                        _ => "the API key".to_owned(),
                    };
                    return Err(source
                        .invalid(
                            span("env"),
                            &format!("{path}.env.{key}"),
                            format!(
                                "{key} holds {what}, which an MCP server never gets; give the \
                                 server a key of its own under another name"
                            ),
                        )
                        .without_source_line());
                }
                if !crate::secret::is_env_var_name(&key) {
                    return Err(source.invalid(
                        span("env"),
                        &format!("{path}.env.{key}"),
                        format!(
                            "{key:?} is not an environment variable name (letters, digits and _)"
                        ),
                    ));
                }
                server = server.env(key, value);
            }
            server
        }
        (None, Some(url)) => {
            if let Some(key) = ["args", "env"]
                .into_iter()
                .find(|key| table.contains_key(*key))
            {
                return Err(invalid(
                    key,
                    format!("`{key}` is a setting of `command` servers; this one has `url`"),
                ));
            }
            match url::Url::parse(&url) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
                Ok(parsed) => {
                    return Err(invalid(
                        "url",
                        format!(
                            "the scheme must be http or https, not `{}`",
                            parsed.scheme()
                        ),
                    ));
                }
                Err(error) => return Err(invalid("url", format!("not a URL: {error}"))),
            }
            let mut server = McpServer::http(url);
            if let Some(var) = bearer_token_env {
                if !crate::secret::is_env_var_name(&var) {
                    return Err(invalid(
                        "bearer_token_env",
                        format!(
                            "{var:?} is not an environment variable name: name the variable \
                             that holds the token, never the token itself"
                        ),
                    )
                    .without_source_line());
                }
                server = server.bearer_token_env(var);
            }
            server
        }
    };
    server = server.name(name);
    if let Some(tools) = tools {
        if tools.is_empty() {
            return Err(invalid(
                "tools",
                "an empty list offers no tool: leave `tools` out to offer all".into(),
            ));
        }
        server = server.tools(tools);
    }
    if let Some(prefix) = prefix {
        if let Some(bad) = prefix
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(invalid(
                "prefix",
                format!(
                    "{bad:?} is not allowed in tool names; use only ASCII letters, digits, '_' and '-'"
                ),
            ));
        }
        server = server.prefix(prefix);
    }
    match confirm {
        None | Some(Confirm::All(false)) => {}
        Some(Confirm::All(true)) => server = server.confirm(McpConfirm::Always),
        Some(Confirm::Tools(names)) => {
            if let Some(filter) = server.tool_filter()
                && let Some(missing) = names.iter().find(|n| !filter.contains(n))
            {
                return Err(invalid(
                    "confirm",
                    format!("{missing:?} is not in `tools`, so it is never offered"),
                ));
            }
            server = server.confirm(McpConfirm::Tools(names));
        }
    }
    if let Some(seconds) = timeout {
        if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
            return Err(invalid(
                "timeout",
                format!("{seconds} is not a timeout: give seconds above 0, at most 86400"),
            ));
        }
        server = server.timeout(Duration::from_secs_f64(seconds));
    }
    if let Some(on_interrupt) = on_interrupt {
        server = server.on_interrupt(on_interrupt);
    }
    let at = table
        .get("name")
        .map_or(entry.span().start, |name| name.span().start);
    let server = secrets.iter().fold(server, |server, secret| {
        server.withhold_var(secret.name.clone())
    });
    Ok(server.origin(origin(source, at)))
}

/// `agent.toml:12:8`: where an entry is, for messages that come later (a tool name clash).
fn origin(source: &Source<'_>, offset: usize) -> String {
    format!(
        "{}:{}",
        source.path.display(),
        Position::of_offset(source.text, offset)
    )
}
