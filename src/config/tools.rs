//! `[[tools]]`: tools declared without Rust, built at load so that a bad declaration is an
//! error with its line and column.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{ConfigError, ConfigErrorKind, Position, Source};
use super::keys;
use super::secret_vars::SecretVar;
use crate::tool::{
    ALWAYS_WITHHELD, CommandTool, CommandToolSpec, DeclaredToolSpec, DynTool, HttpTool,
    HttpToolSpec, SpecError,
};

/// A tool declared in `agent.toml`, checked and built.
#[derive(Debug, Clone)]
pub struct ConfigTool {
    spec: DeclaredToolSpec,
    built: Built,
    position: Option<Position>,
}

#[derive(Debug, Clone)]
enum Built {
    Command(Arc<CommandTool>),
    Http(Arc<HttpTool>),
}

impl ConfigTool {
    /// The declaration (a command tool's relative paths resolved against the file's directory).
    pub fn spec(&self) -> &DeclaredToolSpec {
        &self.spec
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        self.spec.name()
    }

    /// The built tool, to register.
    pub fn tool(&self) -> Arc<dyn DynTool> {
        match &self.built {
            Built::Command(tool) => tool.clone(),
            Built::Http(tool) => tool.clone(),
        }
    }

    /// Environment variables its HTTP headers use that are not set now (for `agent check`).
    pub fn missing_env_vars(&self) -> Vec<String> {
        match &self.built {
            Built::Command(_) => Vec::new(),
            Built::Http(tool) => tool.missing_env_vars(),
        }
    }

    /// A command tool's environment policy (`None` for an HTTP tool): for `agent check`.
    pub fn child_env(&self) -> Option<&crate::tool::ChildEnv> {
        match &self.built {
            Built::Command(tool) => Some(tool.child_env()),
            Built::Http(_) => None,
        }
    }

    /// Where its name (or its `[[tools]]` entry) is in the file.
    pub fn position(&self) -> Option<Position> {
        self.position
    }
}

/// Reads every `[[tools]]` entry of `root`: the agent's own tools, and the hosted MCP servers
/// (`kind = "hosted_mcp"`, for a session of `dialect`).
pub(crate) fn load(
    source: &Source<'_>,
    root: &DeTable<'_>,
    base_dir: &Path,
    secrets: &[SecretVar],
    dialect: crate::protocol::Dialect,
) -> Result<(Vec<ConfigTool>, Vec<crate::agent::HostedMcp>), ConfigError> {
    let Some(value) = root.get("tools") else {
        return Ok((Vec::new(), Vec::new()));
    };
    let DeValue::Array(entries) = value.get_ref() else {
        return Err(source.invalid(
            Some(value.span()),
            "tools",
            format!(
                "expected [[tools]] tables, found {}",
                value.get_ref().type_str()
            ),
        ));
    };
    let mut tools: Vec<ConfigTool> = Vec::with_capacity(entries.len());
    let mut hosted: Vec<crate::agent::HostedMcp> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("tools[{index}]");
        let table = keys::as_table(source, entry, &path)?;
        let kind = table.get("kind").and_then(|k| k.get_ref().as_str());
        if kind == Some("hosted_mcp") {
            keys::check(
                source,
                table,
                &path,
                "[[tools]] with kind = \"hosted_mcp\"",
                keys::TOOL_HOSTED_MCP,
                |key| {
                    keys::tool_keys("command").0.contains(&key).then(|| {
                        format!(
                            "`{key}` is a setting of the agent's own tools (kind = \"command\" \
                             or \"http\"); this entry is kind = \"hosted_mcp\""
                        )
                    })
                },
            )?;
            let server = super::hosted_mcp::load_one(source, entry.span(), table, &path, dialect)?;
            if hosted.iter().any(|h| h.label() == server.label()) {
                return Err(super::hosted_mcp::duplicate(
                    source,
                    table,
                    &path,
                    server.label(),
                ));
            }
            hosted.push(server);
            continue;
        }
        let tool = load_one(source, entry.span(), table, &path, base_dir, secrets)?;
        if tools.iter().any(|t| t.name() == tool.name()) {
            let span = table.get("name").map(Spanned::span);
            return Err(source.error(
                span,
                Some(format!("{path}.name")),
                format!(
                    "a tool named {:?} is declared twice; tool names must be unique",
                    tool.name()
                ),
                ConfigErrorKind::Tool,
            ));
        }
        tools.push(tool);
    }
    Ok((tools, hosted))
}

fn load_one(
    source: &Source<'_>,
    span: Range<usize>,
    table: &DeTable<'_>,
    path: &str,
    base_dir: &Path,
    secrets: &[SecretVar],
) -> Result<ConfigTool, ConfigError> {
    // Later problems with the tool (a name clash) point at its name.
    let at = table
        .get("name")
        .map_or(span.start, |name| name.span().start);
    let position = Some(Position::of_offset(source.text, at));
    let Some(kind_value) = table.get("kind") else {
        return Err(source.invalid(
            Some(span),
            path,
            "missing `kind`: each [[tools]] entry needs kind = \"command\", \"http\" or \
             \"hosted_mcp\"",
        ));
    };
    let kind = match kind_value.get_ref().as_str() {
        Some(kind) if keys::TOOL_KINDS.contains(&kind) => kind,
        Some(other) => {
            let hint = keys::nearest(other, keys::TOOL_KINDS)
                .map(|k| format!("; did you mean \"{k}\"?"))
                .unwrap_or_default();
            return Err(source.invalid(
                Some(kind_value.span()),
                &format!("{path}.kind"),
                format!(
                    "unknown tool kind \"{other}\": use \"command\", \"http\" or \
                     \"hosted_mcp\"{hint}"
                ),
            ));
        }
        None => {
            return Err(source.invalid(
                Some(kind_value.span()),
                &format!("{path}.kind"),
                "expected \"command\", \"http\" or \"hosted_mcp\"",
            ));
        }
    };
    let (allowed, other_kind) = keys::tool_keys(kind);
    let other_name = if kind == "http" { "command" } else { "http" };
    keys::check(source, table, path, "[[tools]]", &allowed, |key| {
        other_kind.contains(&key).then(|| {
            format!(
                "`{key}` is a setting of kind = \"{other_name}\" tools; this tool is kind = \"{kind}\""
            )
        })
    })?;
    let mut fields = table.clone();
    fields.remove("kind");
    let value = Spanned::new(span.clone(), DeValue::Table(fields));
    let (spec, built) = if kind == "command" {
        let spec: CommandToolSpec = deserialize(source, path, value)?;
        let spec = spec.relative_to(base_dir);
        check_no_secret_given(&spec, secrets).map_err(|e| spec_error(source, table, path, e))?;
        let tool = secrets.iter().fold(
            CommandTool::new(spec.clone()).map_err(|e| spec_error(source, table, path, e))?,
            |tool, secret| tool.withhold_var(secret.name.clone()),
        );
        (
            DeclaredToolSpec::Command(spec),
            Built::Command(Arc::new(tool)),
        )
    } else {
        let spec: HttpToolSpec = deserialize(source, path, value)?;
        let tool = HttpTool::new(spec.clone()).map_err(|e| spec_error(source, table, path, e))?;
        (DeclaredToolSpec::Http(spec), Built::Http(Arc::new(tool)))
    };
    Ok(ConfigTool {
        spec,
        built,
        position,
    })
}

/// A tool's program never gets the API key or another secret agent.toml names: naming such a
/// variable in `pass_env` or `env` is a mistake to point out, not to obey.
fn check_no_secret_given(spec: &CommandToolSpec, secrets: &[SecretVar]) -> Result<(), SpecError> {
    let is_key = |name: &str| {
        ALWAYS_WITHHELD.contains(&name) || secrets.iter().any(|secret| secret.name == name)
    };
    let problem = |name: &str| match secrets.iter().find(|secret| secret.name == name) {
        Some(secret) if secret.setting != "agent.api_key_env" => format!(
            "{name} holds a secret ({} names it), which a tool's program never gets (the agent \
             withholds it); remove it here",
            secret.setting
        ),
        _ => format!(
            "{name} holds the API key, which a tool's program never gets (the agent withholds \
             it); remove it here"
        ),
    };
    if let Some((index, name)) = spec.pass_env.iter().enumerate().find(|(_, n)| is_key(n)) {
        return Err(SpecError::new(
            &spec.name,
            format!("pass_env[{index}]"),
            problem(name),
        ));
    }
    if let Some(name) = spec.env.keys().find(|n| is_key(n)) {
        return Err(SpecError::new(
            &spec.name,
            format!("env.{name}"),
            problem(name),
        ));
    }
    Ok(())
}

fn deserialize<T: serde::de::DeserializeOwned>(
    source: &Source<'_>,
    path: &str,
    value: Spanned<DeValue<'_>>,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(ValueDeserializer::from(value))
        .map_err(|error| source.toml_error(path, error))
}

/// A [`SpecError`] placed on its key inside the tool's table.
fn spec_error(
    source: &Source<'_>,
    table: &DeTable<'_>,
    path: &str,
    error: SpecError,
) -> ConfigError {
    let span = locate(table, &error.key);
    source.error(
        span,
        Some(format!("{path}.{}", error.key)),
        error.message,
        ConfigErrorKind::Tool,
    )
}

/// The span of the value at `key` (`args[2]`, `parameters.properties.unit.enum`) inside `table`,
/// or of its nearest ancestor that exists.
fn locate(table: &DeTable<'_>, key: &str) -> Option<Range<usize>> {
    let mut segments = Vec::new();
    for part in key.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            segments.push(Segment::Key(name));
        }
        for index in rest.split('[') {
            if let Ok(index) = index.trim_end_matches(']').parse::<usize>() {
                segments.push(Segment::Index(index));
            }
        }
    }
    let mut found: Option<&Spanned<DeValue<'_>>> = None;
    let mut span = None;
    for segment in segments {
        let next = match (segment, found.map(Spanned::get_ref)) {
            (Segment::Key(name), None) => table.get(name),
            (Segment::Key(name), Some(DeValue::Table(t))) => t.get(name),
            (Segment::Index(i), Some(DeValue::Array(a))) => a.get(i),
            _ => None,
        };
        match next {
            Some(value) => {
                span = Some(value.span());
                found = Some(value);
            }
            None => break,
        }
    }
    span
}

#[derive(Clone, Copy)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}
