//! Conversation items and their content parts.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use serde_json::{Map, Value};

use super::Dialect;
use super::mcp::{McpApprovalRequestItem, McpApprovalResponseItem, McpCallItem, McpListToolsItem};
use super::wire::null_as_default;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user.
    #[default]
    User,
    /// The model.
    Assistant,
    /// System instructions inside the conversation.
    System,
}

/// The wire type of a content part.
///
/// Assistant content is `text`/`audio` in beta items and `output_text`/`output_audio` in GA
/// items; `response.content_part.*` events use `text`/`audio` in both dialects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// User or system text.
    #[default]
    InputText,
    /// User audio.
    InputAudio,
    /// A user image (GA).
    InputImage,
    /// Assistant text (beta items; content-part events in both dialects).
    Text,
    /// Assistant audio (beta items; content-part events in both dialects).
    Audio,
    /// Assistant text in GA items.
    OutputText,
    /// Assistant audio in GA items.
    OutputAudio,
    /// A content type this crate does not know.
    #[serde(untagged)]
    Other(String),
}

/// One part of a message's content.
///
/// Use [`ContentPart::assistant_text`] to build assistant text for a dialect, and
/// [`ContentPart::words`] to read what was said or written whatever the part's type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ContentPart {
    /// The wire type.
    #[serde(rename = "type")]
    pub kind: ContentKind,
    /// The text of a text part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Base64 audio of an audio part, when present (events never carry it; retrieval does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
    /// The transcript of an audio part, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    /// Other fields (`image_url`, `detail`, anything newer), kept as they arrived.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ContentPart {
    /// A user (or system) text part.
    pub fn input_text(text: impl Into<String>) -> Self {
        ContentPart {
            kind: ContentKind::InputText,
            text: Some(text.into()),
            ..ContentPart::default()
        }
    }

    /// A user audio part holding base64 audio in the session input format.
    pub fn input_audio(audio_base64: impl Into<String>) -> Self {
        ContentPart {
            kind: ContentKind::InputAudio,
            audio: Some(audio_base64.into()),
            ..ContentPart::default()
        }
    }

    /// Assistant text as `dialect` spells it in items (`output_text` in GA, `text` in beta).
    pub fn assistant_text(text: impl Into<String>, dialect: Dialect) -> Self {
        ContentPart {
            kind: match dialect {
                Dialect::Ga => ContentKind::OutputText,
                Dialect::Beta => ContentKind::Text,
            },
            text: Some(text.into()),
            ..ContentPart::default()
        }
    }

    /// Whether this is an audio part of any wire type.
    pub fn is_audio(&self) -> bool {
        matches!(
            self.kind,
            ContentKind::InputAudio | ContentKind::Audio | ContentKind::OutputAudio
        )
    }

    /// The text or transcript of this part: what was said or written.
    pub fn words(&self) -> Option<&str> {
        self.text.as_deref().or(self.transcript.as_deref())
    }
}

/// The lifecycle state of an item on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Still being produced.
    InProgress,
    /// Finished.
    Completed,
    /// Cut short (interrupted or limited).
    Incomplete,
    /// A status this crate does not know.
    #[serde(untagged)]
    Other(String),
}

/// A `message` item.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageItem {
    /// The item id (`item_…`); the server assigns one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"realtime.item"` when the server sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The server-side status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Who wrote it.
    pub role: Role,
    /// Its content parts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: Vec<ContentPart>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `function_call` item: the model asks the client to call a function.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionCallItem {
    /// The item id (`item_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"realtime.item"` when the server sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The server-side status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// The call id (`call_…`) that the output must answer.
    pub call_id: String,
    /// The function name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The arguments as a JSON string.
    #[serde(default, deserialize_with = "null_as_default")]
    pub arguments: String,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `function_call_output` item: the client's answer to a function call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionCallOutputItem {
    /// The item id (`item_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"realtime.item"` when the server sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The server-side status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// The call this answers.
    pub call_id: String,
    /// The result, always a string (structured results are JSON-encoded).
    pub output: String,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An item in the conversation.
///
/// Item types this crate does not model (item references in `response.create` input, anything
/// newer) are kept whole in [`Item::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A message from the user, the assistant or the system.
    Message(MessageItem),
    /// A function call by the model.
    FunctionCall(FunctionCallItem),
    /// The client's output for a function call.
    FunctionCallOutput(FunctionCallOutputItem),
    /// The tools of a hosted MCP server, as the API listed them (GA).
    McpListTools(McpListToolsItem),
    /// A call the API made to a hosted MCP server's tool (GA). Boxed: it is the largest item.
    McpCall(Box<McpCallItem>),
    /// The API asks whether it may call a hosted MCP tool (GA).
    McpApprovalRequest(McpApprovalRequestItem),
    /// The client's answer to an approval request (GA).
    McpApprovalResponse(McpApprovalResponseItem),
    /// Any other item type, with its `type` field.
    Other(Map<String, Value>),
}

impl Item {
    /// A user message with one text part.
    pub fn user_text(text: impl Into<String>) -> Item {
        Item::Message(MessageItem {
            role: Role::User,
            content: vec![ContentPart::input_text(text)],
            ..MessageItem::default()
        })
    }

    /// A system message with one text part: a note for the model inside the conversation.
    pub fn system_text(text: impl Into<String>) -> Item {
        Item::Message(MessageItem {
            role: Role::System,
            content: vec![ContentPart::input_text(text)],
            ..MessageItem::default()
        })
    }

    /// An assistant message with one text part, spelled for `dialect`.
    pub fn assistant_text(text: impl Into<String>, dialect: Dialect) -> Item {
        Item::Message(MessageItem {
            role: Role::Assistant,
            content: vec![ContentPart::assistant_text(text, dialect)],
            ..MessageItem::default()
        })
    }

    /// A function call output for `call_id`.
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Item {
        Item::FunctionCallOutput(FunctionCallOutputItem {
            call_id: call_id.into(),
            output: output.into(),
            ..FunctionCallOutputItem::default()
        })
    }

    /// The answer to the hosted MCP approval request `approval_request_id`.
    pub fn mcp_approval_response(
        approval_request_id: impl Into<String>,
        approve: bool,
        reason: Option<String>,
    ) -> Item {
        Item::McpApprovalResponse(McpApprovalResponseItem {
            approval_request_id: approval_request_id.into(),
            approve,
            reason,
            ..McpApprovalResponseItem::default()
        })
    }

    /// The item id, when it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::Message(m) => m.id.as_deref(),
            Item::FunctionCall(c) => c.id.as_deref(),
            Item::FunctionCallOutput(o) => o.id.as_deref(),
            Item::McpListTools(i) => i.id.as_deref(),
            Item::McpCall(i) => i.id.as_deref(),
            Item::McpApprovalRequest(i) => i.id.as_deref(),
            Item::McpApprovalResponse(i) => i.id.as_deref(),
            Item::Other(map) => map.get("id").and_then(Value::as_str),
        }
    }

    /// Sets the item id.
    pub fn set_id(&mut self, id: impl Into<String>) {
        let id = id.into();
        match self {
            Item::Message(m) => m.id = Some(id),
            Item::FunctionCall(c) => c.id = Some(id),
            Item::FunctionCallOutput(o) => o.id = Some(id),
            Item::McpListTools(i) => i.id = Some(id),
            Item::McpCall(i) => i.id = Some(id),
            Item::McpApprovalRequest(i) => i.id = Some(id),
            Item::McpApprovalResponse(i) => i.id = Some(id),
            Item::Other(map) => {
                map.insert("id".into(), id.into());
            }
        }
    }

    /// Bytes of text the item carries: what its message parts say, a call's arguments, an
    /// output. A cheap measure of its weight in the conversation (about four per token).
    pub fn text_len(&self) -> usize {
        match self {
            Item::Message(m) => m
                .content
                .iter()
                .map(|p| p.words().map_or(0, str::len))
                .sum(),
            Item::FunctionCall(c) => c.arguments.len(),
            Item::FunctionCallOutput(o) => o.output.len(),
            Item::McpCall(c) => c.arguments.len() + c.output.as_ref().map_or(0, String::len),
            Item::McpApprovalRequest(r) => r.arguments.len(),
            Item::McpListTools(_) | Item::McpApprovalResponse(_) | Item::Other(_) => 0,
        }
    }

    /// The wire `type` of this item.
    pub fn kind(&self) -> &str {
        match self {
            Item::Message(_) => "message",
            Item::FunctionCall(_) => "function_call",
            Item::FunctionCallOutput(_) => "function_call_output",
            Item::McpListTools(_) => "mcp_list_tools",
            Item::McpCall(_) => "mcp_call",
            Item::McpApprovalRequest(_) => "mcp_approval_request",
            Item::McpApprovalResponse(_) => "mcp_approval_response",
            Item::Other(map) => map.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }
}

impl Default for Item {
    fn default() -> Self {
        Item::Message(MessageItem::default())
    }
}

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let inner = match self {
            Item::Message(m) => serde_json::to_value(m),
            Item::FunctionCall(c) => serde_json::to_value(c),
            Item::FunctionCallOutput(o) => serde_json::to_value(o),
            Item::McpListTools(i) => serde_json::to_value(i),
            Item::McpCall(i) => serde_json::to_value(i),
            Item::McpApprovalRequest(i) => serde_json::to_value(i),
            Item::McpApprovalResponse(i) => serde_json::to_value(i),
            Item::Other(map) => return map.serialize(serializer),
        }
        .map_err(S::Error::custom)?;
        let Value::Object(fields) = inner else {
            return Err(S::Error::custom("an item must serialize to an object"));
        };
        // `type` first, as the API writes it.
        let mut map = Map::with_capacity(fields.len() + 1);
        map.insert("type".into(), self.kind().into());
        map.extend(fields);
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = Map::<String, Value>::deserialize(deserializer)?;
        let kind = map
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let known = matches!(
            kind.as_str(),
            "message"
                | "function_call"
                | "function_call_output"
                | "mcp_list_tools"
                | "mcp_call"
                | "mcp_approval_request"
                | "mcp_approval_response"
        );
        if !known {
            return Ok(Item::Other(map));
        }
        map.remove("type");
        let value = Value::Object(map);
        let item = match kind.as_str() {
            "message" => serde_json::from_value(value).map(Item::Message),
            "function_call" => serde_json::from_value(value).map(Item::FunctionCall),
            "mcp_list_tools" => serde_json::from_value(value).map(Item::McpListTools),
            "mcp_call" => serde_json::from_value(value).map(|c| Item::McpCall(Box::new(c))),
            "mcp_approval_request" => serde_json::from_value(value).map(Item::McpApprovalRequest),
            "mcp_approval_response" => serde_json::from_value(value).map(Item::McpApprovalResponse),
            _ => serde_json::from_value(value).map(Item::FunctionCallOutput),
        };
        item.map_err(|e| D::Error::custom(format!("{kind} item: {e}")))
    }
}
