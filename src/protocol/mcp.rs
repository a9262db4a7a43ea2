//! Hosted MCP (GA only): the `mcp` tool the session declares, and the items the server adds
//! when it lists, calls and asks approval for the tools of a remote MCP server.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::item::ItemStatus;
use super::wire::null_as_default;
use crate::ApiKey;

/// An `{"type":"mcp", …}` entry of the session's `tools`: a remote MCP server whose tools the
/// Realtime API lists and calls itself.
///
/// `Debug` never shows the `authorization` token nor the values of `headers`; serializing it
/// (for the wire) does.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpToolDefinition {
    /// The label the server's tools, calls and approvals are known by.
    pub server_label: String,
    /// The server's URL (or `connector_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    /// An OpenAI connector (or `server_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// The OAuth access token (or other credential) the API sends to the server.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret",
        deserialize_with = "read_secret"
    )]
    pub authorization: Option<ApiKey>,
    /// Extra HTTP headers for the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// What the server is for, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_description: Option<String>,
    /// Only these of the server's tools (`None`: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<AllowedTools>,
    /// Which calls wait for the user's approval (the API's default is `always`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval: Option<RequireApproval>,
    /// Fields this crate does not model, kept as they arrived.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for McpToolDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpToolDefinition")
            .field("server_label", &self.server_label)
            .field("server_url", &self.server_url)
            .field("connector_id", &self.connector_id)
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .field(
                "headers",
                &self
                    .headers
                    .as_ref()
                    .map(|h| h.keys().map(|k| (k.as_str(), "***")).collect::<Vec<_>>()),
            )
            .field("server_description", &self.server_description)
            .field("allowed_tools", &self.allowed_tools)
            .field("require_approval", &self.require_approval)
            .finish_non_exhaustive()
    }
}

impl McpToolDefinition {
    /// Whether a call to `tool` waits for an approval under this definition (absent
    /// `require_approval` means `always`, as in the API).
    pub fn requires_approval(&self, tool: &str) -> bool {
        self.require_approval
            .as_ref()
            .is_none_or(|r| r.requires(tool))
    }

    /// Whether `tool` is one the model may use (`allowed_tools`).
    pub fn allows(&self, tool: &str) -> bool {
        match &self.allowed_tools {
            None => true,
            Some(AllowedTools::Names(names)) => names.iter().any(|n| n == tool),
            Some(AllowedTools::Filter { tool_names, .. }) => tool_names
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == tool)),
        }
    }
}

fn expose_secret<S: Serializer>(secret: &Option<ApiKey>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_str(secret.expose()),
        None => serializer.serialize_none(),
    }
}

fn read_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<ApiKey>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(ApiKey::new))
}

/// `allowed_tools`: a list of names, or a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AllowedTools {
    /// Only the tools with these names.
    Names(Vec<String>),
    /// `{tool_names, read_only}`.
    Filter {
        /// Only the tools with these names.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_names: Option<Vec<String>>,
        /// Only tools annotated read-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read_only: Option<bool>,
    },
}

/// `require_approval`: `"always"`, `"never"`, or per tool
/// (`{"always":{"tool_names":[…]},"never":{"tool_names":[…]}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequireApproval {
    /// Every call waits for an approval.
    Always,
    /// No call does.
    Never,
    /// Per tool; a tool the `never` filter does not name needs approval (the API's default).
    /// Build it with [`RequireApproval::per_tool`].
    PerTool {
        /// Tools whose calls wait for an approval.
        always: Option<McpToolFilter>,
        /// Tools whose calls run without one.
        never: Option<McpToolFilter>,
    },
}

/// A set of a hosted MCP server's tools, in `require_approval`: `{tool_names, read_only}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct McpToolFilter {
    /// The tools named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_names: Option<Vec<String>>,
    /// Tools annotated read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

impl McpToolFilter {
    /// The tools with these names.
    pub fn names<I, S>(names: I) -> McpToolFilter
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        McpToolFilter {
            tool_names: Some(names.into_iter().map(Into::into).collect()),
            read_only: None,
        }
    }

    /// Whether it names `tool`.
    pub fn names_tool(&self, tool: &str) -> bool {
        self.tool_names
            .as_ref()
            .is_some_and(|names| names.iter().any(|n| n == tool))
    }
}

impl RequireApproval {
    /// Approval for the tools in `always`, none for those in `never`; an empty list is left
    /// out.
    pub fn per_tool<A, N, S, T>(always: A, never: N) -> RequireApproval
    where
        A: IntoIterator<Item = S>,
        N: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        let filter = |names: Vec<String>| (!names.is_empty()).then(|| McpToolFilter::names(names));
        RequireApproval::PerTool {
            always: filter(always.into_iter().map(Into::into).collect()),
            never: filter(never.into_iter().map(Into::into).collect()),
        }
    }

    /// Whether a call to `tool` waits for an approval.
    pub fn requires(&self, tool: &str) -> bool {
        match self {
            RequireApproval::Always => true,
            RequireApproval::Never => false,
            RequireApproval::PerTool { never, .. } => {
                !never.as_ref().is_some_and(|f| f.names_tool(tool))
            }
        }
    }
}

impl Serialize for RequireApproval {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct PerTool<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            always: &'a Option<McpToolFilter>,
            #[serde(skip_serializing_if = "Option::is_none")]
            never: &'a Option<McpToolFilter>,
        }
        match self {
            RequireApproval::Always => serializer.serialize_str("always"),
            RequireApproval::Never => serializer.serialize_str("never"),
            RequireApproval::PerTool { always, never } => {
                PerTool { always, never }.serialize(serializer)
            }
        }
    }
}

impl<'de> Deserialize<'de> for RequireApproval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        struct PerTool {
            #[serde(default)]
            always: Option<McpToolFilter>,
            #[serde(default)]
            never: Option<McpToolFilter>,
        }
        let value = Value::deserialize(deserializer)?;
        match &value {
            Value::String(s) if s == "always" => Ok(RequireApproval::Always),
            Value::String(s) if s == "never" => Ok(RequireApproval::Never),
            Value::Object(_) => {
                let per = PerTool::deserialize(&value).map_err(D::Error::custom)?;
                Ok(RequireApproval::PerTool {
                    always: per.always,
                    never: per.never,
                })
            }
            _ => Err(D::Error::custom(format!(
                "require_approval: expected \"always\", \"never\" or {{always, never}}, found {value}"
            ))),
        }
    }
}

/// One tool of a hosted MCP server, as an `mcp_list_tools` item lists it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpToolInfo {
    /// The tool's name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of its input.
    #[serde(default)]
    pub input_schema: Value,
    /// The server's annotations (`readOnlyHint`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An `mcp_list_tools` item: the tools the API found on a hosted MCP server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpListToolsItem {
    /// The item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The server's label.
    #[serde(default, deserialize_with = "null_as_default")]
    pub server_label: String,
    /// Its tools (empty until listed).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tools: Vec<McpToolInfo>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a hosted MCP call failed: `{type, code?, message}` with `type` one of
/// `protocol_error`, `tool_execution_error`, `http_error`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct McpCallError {
    /// `protocol_error`, `tool_execution_error` or `http_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The JSON-RPC or HTTP status code, for protocol and HTTP errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// What went wrong.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
}

impl McpCallError {
    /// An error of `kind` (`protocol_error`, `tool_execution_error`, `http_error`).
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> McpCallError {
        McpCallError {
            kind: kind.into(),
            code: None,
            message: message.into(),
        }
    }

    /// With a code.
    pub fn with_code(mut self, code: i64) -> McpCallError {
        self.code = Some(code);
        self
    }
}

impl std::fmt::Display for McpCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} {code}: {}", self.kind, self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

/// An `mcp_call` item: the API called a hosted MCP server's tool.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpCallItem {
    /// The item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The server-side status, when the server sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// The server's label.
    #[serde(default, deserialize_with = "null_as_default")]
    pub server_label: String,
    /// The tool.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The arguments, a JSON string.
    #[serde(default, deserialize_with = "null_as_default")]
    pub arguments: String,
    /// The approval request this call answers, if it needed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_request_id: Option<String>,
    /// What the tool returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<McpCallError>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An `mcp_approval_request` item: the API asks whether it may call a hosted MCP tool.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpApprovalRequestItem {
    /// The item id, which the answer names as `approval_request_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The server's label.
    #[serde(default, deserialize_with = "null_as_default")]
    pub server_label: String,
    /// The tool.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The arguments, a JSON string.
    #[serde(default, deserialize_with = "null_as_default")]
    pub arguments: String,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An `mcp_approval_response` item: the client's answer to an approval request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpApprovalResponseItem {
    /// The item id (the server assigns one when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The request answered.
    pub approval_request_id: String,
    /// Whether the call may go ahead.
    pub approve: bool,
    /// Why, optionally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
