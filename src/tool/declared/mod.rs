//! Tools declared in `agent.toml` (`[[tools]]`), run without writing Rust: see
//! [`DeclaredToolSpec`].

mod bounded;
mod command;
mod http;
mod json_schema;
mod template;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

pub use command::{CommandError, CommandTool, CommandToolSpec};
pub use http::{HttpError, HttpMethod, HttpTool, HttpToolSpec};

use super::{DynTool, OnInterrupt, ToolError, ToolOptions};
use crate::protocol::FunctionDefinition;
use json_schema::ParametersSchema;

/// A `[[tools]]` entry of `agent.toml`, tagged by `kind`: a tool run without writing Rust, a
/// program ([`CommandTool`], `kind = "command"`) or an HTTP endpoint ([`HttpTool`],
/// `kind = "http"`).
///
/// Each has a name, a description, a `parameters` JSON Schema (a TOML table, checked when the
/// tool is built), a `timeout` in seconds, `confirm = true` to ask the user before each call and
/// `on_interrupt = "keep" | "cancel"`. The arguments are checked against the schema before
/// anything runs; a call whose arguments do not match gets an error naming the field.
///
/// The schema may use `type` (`integer` means a whole number, not `1.0`), `properties`,
/// `required`, `additionalProperties`, `enum`, `items`, `minimum`/`maximum`,
/// `minLength`/`maxLength`, `minItems`/`maxItems`, and the annotations `description`, `title`,
/// `default`, `examples`, nested to any depth. Any other keyword is refused at load rather than
/// ignored, so no argument gets past a check its author believed in. A property that is not
/// required may be sent as `null`: it counts as absent.
///
/// ```
/// use realtime_agent::tool::DeclaredToolSpec;
///
/// let spec: DeclaredToolSpec = toml::from_str(r#"
///     kind = "command"
///     name = "add_note"
///     description = "Appends a note to the notes file."
///     program = "tools/add-note"
///     args = ["--tag={tag}", "{text}"]
///     confirm = true
///
///     [parameters]
///     type = "object"
///     required = ["text"]
///     properties.text = { type = "string", description = "The note." }
///     properties.tag = { type = "string", enum = ["todo", "idea"] }
/// "#).unwrap();
/// let tool = spec.build().unwrap();
/// assert_eq!(tool.name(), "add_note");
/// assert!(tool.options().requires_approval);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DeclaredToolSpec {
    /// `kind = "command"`: runs a program.
    Command(CommandToolSpec),
    /// `kind = "http"`: calls an HTTP endpoint.
    Http(HttpToolSpec),
}

impl DeclaredToolSpec {
    /// The declared tool name.
    pub fn name(&self) -> &str {
        match self {
            DeclaredToolSpec::Command(spec) => &spec.name,
            DeclaredToolSpec::Http(spec) => &spec.name,
        }
    }

    /// Checks the declaration and builds the tool.
    pub fn build(self) -> Result<Arc<dyn DynTool>, SpecError> {
        Ok(match self {
            DeclaredToolSpec::Command(spec) => Arc::new(CommandTool::new(spec)?),
            DeclaredToolSpec::Http(spec) => Arc::new(HttpTool::new(spec)?),
        })
    }
}

/// A declared tool that cannot be built: which tool, which key, and what is wrong. Fix the
/// declaration; retrying does not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tool {tool:?}: `{key}`: {message}")]
pub struct SpecError {
    /// The tool's declared name.
    pub tool: String,
    /// The key at fault, as a path inside the tool's table, e.g. `args[2]`, `url`,
    /// `parameters.properties.unit.enum`.
    pub key: String,
    /// What is wrong, and how to fix it.
    pub message: String,
}

impl SpecError {
    pub(crate) fn new(tool: &str, key: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            tool: tool.to_owned(),
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The `parameters` of a tool declared without any: an object with no properties.
pub(crate) fn no_parameters() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

/// What every declared tool has: its definition, options and compiled schema.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    definition: FunctionDefinition,
    options: ToolOptions,
    schema: ParametersSchema,
}

/// The fields every declared tool spec has, borrowed.
pub(crate) struct CommonSpec<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub parameters: &'a Value,
    pub timeout: Option<f64>,
    pub confirm: bool,
    pub on_interrupt: OnInterrupt,
    pub filler_after_ms: Option<u64>,
}

impl Declared {
    pub(crate) fn new(spec: CommonSpec<'_>) -> Result<Self, SpecError> {
        let name = spec.name;
        if let Err(error) = super::registry::check_name(name) {
            return Err(SpecError::new(name, "name", error.to_string()));
        }
        let schema = ParametersSchema::compile(spec.parameters)
            .map_err(|problem| SpecError::new(name, problem.key, problem.message))?;
        let timeout = match spec.timeout {
            None => super::DEFAULT_TIMEOUT,
            Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 => {
                Duration::from_secs_f64(seconds)
            }
            Some(seconds) => {
                return Err(SpecError::new(
                    name,
                    "timeout",
                    format!("{seconds} is not a timeout: give seconds above 0, at most 86400"),
                ));
            }
        };
        Ok(Declared {
            definition: FunctionDefinition::new(name, spec.description, spec.parameters.clone()),
            options: ToolOptions {
                timeout,
                on_interrupt: spec.on_interrupt,
                requires_approval: spec.confirm,
                filler_after: match spec.filler_after_ms {
                    None => None,
                    Some(ms) if (1..=600_000).contains(&ms) => Some(Duration::from_millis(ms)),
                    Some(ms) => {
                        return Err(SpecError::new(
                            name,
                            "filler_after_ms",
                            format!(
                                "{ms} is not a filler delay: give milliseconds above 0, at most \
                                 600000"
                            ),
                        ));
                    }
                },
            },
            schema,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.definition.name
    }

    /// Parses and validates the model's arguments: nothing runs unless this succeeds.
    pub(crate) fn arguments(
        &self,
        text: &str,
    ) -> Result<serde_json::Map<String, Value>, ToolError> {
        let text = if text.trim().is_empty() { "{}" } else { text };
        let value: Value = serde_json::from_str(text).map_err(|error| {
            ToolError::invalid_arguments(format!("not valid JSON: {error}").replace('`', "\""))
        })?;
        self.schema
            .validate(&value)
            .map_err(ToolError::invalid_arguments)?;
        // `validate` has refused anything but an object already.
        let Value::Object(map) = value else {
            return Err(ToolError::invalid_arguments(
                "the arguments must be a JSON object",
            ));
        };
        Ok(map)
    }
}
