//! Response objects, usage and the options of `response.create`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::session::modalities_to_wire;
use super::wire::{merge_into, put, take, take_object};
use super::{AudioFormat, Dialect, Item, MaxTokens, Modality, ToolChoice, ToolDefinition, Voice};

/// How a response ended (or that it has not yet).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    /// Still producing output.
    #[default]
    InProgress,
    /// Finished normally.
    Completed,
    /// Cancelled by the client or by the user's speech.
    Cancelled,
    /// Failed; `status_details.error` says why.
    Failed,
    /// Cut short (token limit, content filter).
    Incomplete,
    /// A status this crate does not know.
    #[serde(untagged)]
    Other(String),
}

/// Why a response ended the way it did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatusDetails {
    /// The status this explains (`cancelled`, `incomplete`, `failed`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `turn_detected`, `client_cancelled`, `max_output_tokens` or `content_filter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For failures: `{type, code}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Cached-token breakdown of the input tokens.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CachedTokenDetails {
    /// Cached text tokens.
    #[serde(default)]
    pub text_tokens: u64,
    /// Cached audio tokens.
    #[serde(default)]
    pub audio_tokens: u64,
    /// Cached image tokens (GA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Input-token breakdown.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InputTokenDetails {
    /// Text tokens (cached ones included).
    #[serde(default)]
    pub text_tokens: u64,
    /// Audio tokens (cached ones included).
    #[serde(default)]
    pub audio_tokens: u64,
    /// Image tokens (GA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
    /// Cached tokens, a subset of the input tokens.
    #[serde(default)]
    pub cached_tokens: u64,
    /// The cached tokens by type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens_details: Option<CachedTokenDetails>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Output-token breakdown.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OutputTokenDetails {
    /// Text tokens.
    #[serde(default)]
    pub text_tokens: u64,
    /// Audio tokens.
    #[serde(default)]
    pub audio_tokens: u64,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Token usage of one response (`response.done`), the basis of its cost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input plus output tokens.
    #[serde(default)]
    pub total_tokens: u64,
    /// Input tokens (the whole conversation is input each turn).
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_token_details: Option<InputTokenDetails>,
    /// Output breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_token_details: Option<OutputTokenDetails>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A response object, as `response.created` and `response.done` carry it.
///
/// The dialect-specific fields (`modalities`/`output_modalities`, `voice`/`audio.output`, …) are
/// kept in [`Response::extra`] as they arrived.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Response {
    /// The response id (`resp_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"realtime.response"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// How it ended, or `in_progress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// Why it ended that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_details: Option<StatusDetails>,
    /// Every output item (no audio bytes).
    #[serde(default)]
    pub output: Vec<Item>,
    /// The conversation it wrote to; `None` for out-of-band responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Metadata given in `response.create`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Token usage, set in `response.done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `rate_limits.updated`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RateLimit {
    /// `requests` or `tokens`.
    #[serde(default)]
    pub name: String,
    /// The limit.
    #[serde(default)]
    pub limit: u64,
    /// What remains.
    #[serde(default)]
    pub remaining: u64,
    /// Seconds until it resets.
    #[serde(default)]
    pub reset_seconds: f64,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Options of `response.create` (its optional `response` object), the same for both dialects.
///
/// Encode with [`ResponseOptions::to_wire`]; decoding accepts either dialect's shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseOptions {
    /// Instructions for this response only.
    pub instructions: Option<String>,
    /// Tools for this response only.
    pub tools: Option<Vec<ToolDefinition>>,
    /// Tool choice for this response only.
    pub tool_choice: Option<ToolChoice>,
    /// `"auto"` (the default conversation) or `"none"` (out of band).
    pub conversation: Option<String>,
    /// Metadata echoed in the response, to tell out-of-band responses apart.
    pub metadata: Option<Value>,
    /// The input items for this response instead of the conversation (`[]` = no context).
    pub input: Option<Vec<Item>>,
    /// Output modalities for this response.
    pub output_modalities: Option<Vec<Modality>>,
    /// The voice for this response.
    pub voice: Option<Voice>,
    /// The output audio format for this response.
    pub output_audio_format: Option<AudioFormat>,
    /// Sampling temperature (beta only).
    pub temperature: Option<f64>,
    /// Token limit for this response.
    pub max_output_tokens: Option<MaxTokens>,
    /// Fields this crate does not model.
    pub extra: Map<String, Value>,
}

impl ResponseOptions {
    /// The options as `dialect` spells them.
    pub fn to_wire(&self, dialect: Dialect) -> Value {
        let mut map = Map::new();
        put(&mut map, "instructions", self.instructions.as_ref());
        put(&mut map, "tools", self.tools.as_ref());
        put(&mut map, "tool_choice", self.tool_choice.as_ref());
        put(&mut map, "conversation", self.conversation.as_ref());
        put(&mut map, "metadata", self.metadata.as_ref());
        put(&mut map, "input", self.input.as_ref());
        if let Some(list) = &self.output_modalities {
            let key = match dialect {
                Dialect::Ga => "output_modalities",
                Dialect::Beta => "modalities",
            };
            map.insert(key.into(), modalities_to_wire(list, dialect));
        }
        match dialect {
            Dialect::Ga => {
                let mut output = Map::new();
                if let Some(format) = self.output_audio_format {
                    output.insert("format".into(), format.to_wire(dialect));
                }
                put(&mut output, "voice", self.voice.as_ref());
                if !output.is_empty() {
                    map.insert("audio".into(), serde_json::json!({ "output": output }));
                }
                put(
                    &mut map,
                    "max_output_tokens",
                    self.max_output_tokens.as_ref(),
                );
            }
            Dialect::Beta => {
                put(&mut map, "voice", self.voice.as_ref());
                if let Some(format) = self.output_audio_format {
                    map.insert("output_audio_format".into(), format.to_wire(dialect));
                }
                put(&mut map, "temperature", self.temperature.as_ref());
                put(
                    &mut map,
                    "max_response_output_tokens",
                    self.max_output_tokens.as_ref(),
                );
            }
        }
        merge_into(&mut map, &self.extra);
        Value::Object(map)
    }

    /// Reads either dialect's shape.
    pub fn from_wire(wire: &Value) -> Result<ResponseOptions, serde_json::Error> {
        let Value::Object(map) = wire else {
            return Err(serde::de::Error::custom("`response` must be a JSON object"));
        };
        let mut map = map.clone();
        let modalities = match take(&mut map, "output_modalities")? {
            Some(list) => Some(list),
            None => take(&mut map, "modalities")?,
        };
        let mut options = ResponseOptions {
            instructions: take(&mut map, "instructions")?,
            tools: take(&mut map, "tools")?,
            tool_choice: take(&mut map, "tool_choice")?,
            conversation: take(&mut map, "conversation")?,
            metadata: take(&mut map, "metadata")?,
            input: take(&mut map, "input")?,
            output_modalities: modalities,
            voice: take(&mut map, "voice")?,
            output_audio_format: take(&mut map, "output_audio_format")?,
            temperature: take(&mut map, "temperature")?,
            max_output_tokens: match take(&mut map, "max_output_tokens")? {
                Some(limit) => Some(limit),
                None => take(&mut map, "max_response_output_tokens")?,
            },
            extra: Map::new(),
        };
        let mut audio = take_object(&mut map, "audio");
        let mut output = take_object(&mut audio, "output");
        if let Some(format) = super::session::take_format(&mut output)? {
            options.output_audio_format = Some(format);
        }
        if let Some(voice) = take(&mut output, "voice")? {
            options.voice = Some(voice);
        }
        super::wire::restore_object(&mut audio, "output", output);
        super::wire::restore_object(&mut map, "audio", audio);
        options.extra = map;
        Ok(options)
    }
}

/// Serializes the GA shape; use [`ResponseOptions::to_wire`] for a specific dialect.
impl Serialize for ResponseOptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_wire(Dialect::Ga).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ResponseOptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        ResponseOptions::from_wire(&value).map_err(serde::de::Error::custom)
    }
}
