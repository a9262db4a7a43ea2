//! Tool (function) declarations as the session carries them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One function the model may call, as it appears in the session's `tools` array:
/// `{"type":"function","name":…,"description":…,"parameters":{JSON Schema}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// The function name the model uses in its calls.
    pub name: String,
    /// What the function does; the model reads this to decide when to call it.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "super::wire::null_as_default"
    )]
    pub description: String,
    /// A JSON Schema object describing the arguments.
    pub parameters: Value,
    /// Fields this crate does not model (e.g. `strict`), kept as they arrived.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An entry of the session's `tools` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToolDefinition {
    /// A function tool, run by the client (by this crate's agent loop).
    #[serde(rename = "function")]
    Function(FunctionDefinition),
    /// A remote MCP server whose tools the server lists and runs (GA only).
    #[serde(rename = "mcp")]
    Mcp(super::McpToolDefinition),
}

impl FunctionDefinition {
    /// A function definition with no extra fields.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        FunctionDefinition {
            name: name.into(),
            description: description.into(),
            parameters,
            extra: Map::new(),
        }
    }
}

impl ToolDefinition {
    /// A function tool definition.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        ToolDefinition::Function(FunctionDefinition::new(name, description, parameters))
    }

    /// The function name, for function tools.
    pub fn function_name(&self) -> Option<&str> {
        match self {
            ToolDefinition::Function(f) => Some(&f.name),
            ToolDefinition::Mcp(_) => None,
        }
    }
}

/// How the model chooses tools (`tool_choice`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// The model decides (the API default).
    #[default]
    Auto,
    /// The model calls no tool.
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this function.
    Function(String),
    /// The model must call this MCP tool (GA): `{"type":"mcp","server_label":…,"name":…}`.
    Mcp {
        /// The MCP server's label.
        server_label: String,
        /// The tool name, if one is forced.
        name: Option<String>,
    },
}

impl Serialize for ToolChoice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            ToolChoice::Auto => Value::from("auto"),
            ToolChoice::None => Value::from("none"),
            ToolChoice::Required => Value::from("required"),
            ToolChoice::Function(name) => serde_json::json!({"type": "function", "name": name}),
            ToolChoice::Mcp { server_label, name } => {
                let mut map = Map::new();
                map.insert("type".into(), "mcp".into());
                map.insert("server_label".into(), server_label.clone().into());
                if let Some(name) = name {
                    map.insert("name".into(), name.clone().into());
                }
                Value::Object(map)
            }
        };
        value.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        match &value {
            Value::String(s) => match s.as_str() {
                "auto" => Ok(ToolChoice::Auto),
                "none" => Ok(ToolChoice::None),
                "required" => Ok(ToolChoice::Required),
                other => Err(D::Error::custom(format!("unknown tool_choice `{other}`"))),
            },
            Value::Object(_) => match field("type").as_deref() {
                Some("function") => field("name")
                    .map(ToolChoice::Function)
                    .ok_or_else(|| D::Error::missing_field("name")),
                Some("mcp") => Ok(ToolChoice::Mcp {
                    server_label: field("server_label")
                        .ok_or_else(|| D::Error::missing_field("server_label"))?,
                    name: field("name"),
                }),
                _ => Err(D::Error::custom(format!("unknown tool_choice {value}"))),
            },
            _ => Err(D::Error::custom(format!("unknown tool_choice {value}"))),
        }
    }
}
