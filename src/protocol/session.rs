//! The session configuration and how each dialect spells it in `session.update`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::wire::{merge_into, nullable, put, restore_object, take, take_nullable, take_object};
use super::{AudioFormat, Dialect, ToolChoice, ToolDefinition};

/// One output modality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// Text (in GA, alone: text-only responses).
    Text,
    /// Spoken audio, always with its transcript.
    Audio,
}

/// The output modalities as `dialect` spells them.
///
/// GA allows exactly one of `["audio"]` (audio with transcript) and `["text"]`; beta spells
/// audio as `["text","audio"]`. A list given in one dialect's spelling is sent unchanged to that
/// dialect, and translated for the other.
pub fn modalities_to_wire(list: &[Modality], dialect: Dialect) -> Value {
    let audio = list.contains(&Modality::Audio);
    let spelled: Vec<Modality> = match dialect {
        Dialect::Ga if audio => vec![Modality::Audio],
        Dialect::Ga => vec![Modality::Text],
        Dialect::Beta if audio && !list.contains(&Modality::Text) => {
            vec![Modality::Text, Modality::Audio]
        }
        Dialect::Beta => list.to_vec(),
    };
    serde_json::to_value(spelled).unwrap_or_default()
}

/// The assistant's voice: a built-in name (`alloy`, `marin`, `cedar`, …) or a GA custom voice id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Voice {
    /// A built-in voice by name.
    Named(String),
    /// A custom voice: `{"id":"voice_…"}` (GA, 2026).
    Custom {
        /// The custom voice's id.
        id: String,
    },
}

impl From<&str> for Voice {
    fn from(name: &str) -> Self {
        Voice::Named(name.to_owned())
    }
}

impl std::fmt::Display for Voice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Voice::Named(name) => f.write_str(name),
            Voice::Custom { id } => f.write_str(id),
        }
    }
}

/// Server voice activity detection: the server decides when the user has finished speaking.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerVad {
    /// Activation threshold, 0 to 1 (default 0.5); higher needs louder speech.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Audio kept before detected speech, in ms (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_padding_ms: Option<u32>,
    /// Silence that ends a turn, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_duration_ms: Option<u32>,
    /// Whether the server starts a response when a turn ends (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_response: Option<bool>,
    /// Whether speech cancels the response in progress (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_response: Option<bool>,
    /// GA: after this much silence (5000–30000 ms) the server commits and responds; `null` = off.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub idle_timeout_ms: Option<Option<u32>>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Semantic voice activity detection: a model judges whether the user has finished.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SemanticVad {
    /// How eagerly the model ends the user's turn: `low`, `medium`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eagerness: Option<String>,
    /// Whether the server starts a response when a turn ends (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_response: Option<bool>,
    /// Whether speech cancels the response in progress (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_response: Option<bool>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How turns are detected. Turning detection off (manual turns: the client commits the input
/// buffer and asks for a response) is `Some(None)` in [`SessionConfig::turn_detection`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TurnDetection {
    /// `{"type":"server_vad", …}`
    #[serde(rename = "server_vad")]
    ServerVad(ServerVad),
    /// `{"type":"semantic_vad", …}`
    #[serde(rename = "semantic_vad")]
    SemanticVad(SemanticVad),
}

impl TurnDetection {
    /// Whether the server starts responses by itself when a turn ends.
    pub fn creates_responses(&self) -> bool {
        match self {
            TurnDetection::ServerVad(v) => v.create_response.unwrap_or(true),
            TurnDetection::SemanticVad(v) => v.create_response.unwrap_or(true),
        }
    }

    /// Whether the server cancels the response in progress when the user starts speaking.
    pub fn interrupts_responses(&self) -> bool {
        match self {
            TurnDetection::ServerVad(v) => v.interrupt_response.unwrap_or(true),
            TurnDetection::SemanticVad(v) => v.interrupt_response.unwrap_or(true),
        }
    }
}

/// Transcription of the user's audio by a separate speech-to-text model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InputTranscription {
    /// The transcription model, e.g. `gpt-4o-transcribe` or `whisper-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The input language (ISO-639-1), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// A prompt guiding the transcription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Input noise reduction: `near_field` (headsets) or `far_field` (laptop or room microphones).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NoiseReduction {
    /// `near_field` or `far_field`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A token limit: a number or `"inf"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokens {
    /// At most this many tokens.
    Limit(u32),
    /// No limit beyond the model's own (`"inf"`).
    Infinite,
}

impl Serialize for MaxTokens {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MaxTokens::Limit(n) => serializer.serialize_u32(*n),
            MaxTokens::Infinite => serializer.serialize_str("inf"),
        }
    }
}

impl<'de> Deserialize<'de> for MaxTokens {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) if s == "inf" => Ok(MaxTokens::Infinite),
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(MaxTokens::Limit)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid token limit {n}"))),
            other => Err(serde::de::Error::custom(format!(
                "invalid token limit {other} (expected a number or \"inf\")"
            ))),
        }
    }
}

/// The kind of session (GA `session.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// A conversation with the model.
    Realtime,
    /// Transcription only.
    Transcription,
}

/// A session configuration, the same for both dialects.
///
/// Every field is optional: in `session.update` only the fields present are changed. For
/// `turn_detection`, `input_transcription` and `noise_reduction`, `Some(None)` sends `null`, which
/// turns the feature off. The server's `session.created`/`session.updated` decode into this type
/// too; what it does not model (`id`, `object`, `expires_at`, `tracing`, `truncation`, …) is kept
/// in [`SessionConfig::extra`] and encoded again unchanged.
///
/// Encode with [`SessionConfig::to_wire`]; decoding accepts either dialect's shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionConfig {
    /// GA `type`: `realtime` or `transcription` (GA requires it in `session.update`; the agent
    /// sets it). Ignored in beta.
    pub kind: Option<SessionKind>,
    /// The model. Fixed once the session has started; normally chosen at connect time.
    pub model: Option<String>,
    /// System instructions; `""` clears them.
    pub instructions: Option<String>,
    /// The assistant's voice (can only change before the first audio output).
    pub voice: Option<Voice>,
    /// Speech speed, 0.25 to 1.5.
    pub speed: Option<f64>,
    /// Output modalities: `[Audio]` (audio with transcript, the default) or `[Text]`.
    pub output_modalities: Option<Vec<Modality>>,
    /// Format of the audio the client sends.
    pub input_audio_format: Option<AudioFormat>,
    /// Format of the audio the server sends.
    pub output_audio_format: Option<AudioFormat>,
    /// Turn detection; `Some(None)` turns it off (manual turns).
    pub turn_detection: Option<Option<TurnDetection>>,
    /// Input transcription; `Some(None)` turns it off.
    pub input_transcription: Option<Option<InputTranscription>>,
    /// Input noise reduction; `Some(None)` turns it off.
    pub noise_reduction: Option<Option<NoiseReduction>>,
    /// The tools the model may call; an empty list removes them all.
    pub tools: Option<Vec<ToolDefinition>>,
    /// How the model chooses tools.
    pub tool_choice: Option<ToolChoice>,
    /// Sampling temperature (beta only, 0.6 to 1.2; the GA schema has no temperature, so it is
    /// not sent in GA).
    pub temperature: Option<f64>,
    /// Maximum output tokens per response.
    pub max_output_tokens: Option<MaxTokens>,
    /// Fields this crate does not model, kept as they arrived (and sent as given).
    pub extra: Map<String, Value>,
}

/// Keys that only the beta shape has at the top level of a session.
const BETA_ONLY_KEYS: &[&str] = &[
    "modalities",
    "input_audio_format",
    "output_audio_format",
    "input_audio_transcription",
    "input_audio_noise_reduction",
    "turn_detection",
    "voice",
    "speed",
    "temperature",
    "max_response_output_tokens",
];

/// Keys that only the GA shape has at the top level of a session.
const GA_ONLY_KEYS: &[&str] = &["type", "audio", "output_modalities", "max_output_tokens"];

impl SessionConfig {
    /// The session id (`sess_…`) the server reported, if this came from the server.
    pub fn id(&self) -> Option<&str> {
        self.extra.get("id").and_then(Value::as_str)
    }

    /// Which dialect's shape a wire session object has: beta if it has a key only beta uses,
    /// else GA.
    pub fn detect_dialect(wire: &Map<String, Value>) -> Dialect {
        if GA_ONLY_KEYS.iter().any(|k| wire.contains_key(*k)) {
            Dialect::Ga
        } else if BETA_ONLY_KEYS.iter().any(|k| wire.contains_key(*k)) {
            Dialect::Beta
        } else {
            Dialect::Ga
        }
    }

    /// The session object as `dialect` spells it (the `session` of `session.update`).
    pub fn to_wire(&self, dialect: Dialect) -> Value {
        let mut map = Map::new();
        match dialect {
            Dialect::Ga => self.write_ga(&mut map),
            Dialect::Beta => self.write_beta(&mut map),
        }
        put(&mut map, "instructions", self.instructions.as_ref());
        put(&mut map, "model", self.model.as_ref());
        put(&mut map, "tools", self.tools.as_ref());
        put(&mut map, "tool_choice", self.tool_choice.as_ref());
        merge_into(&mut map, &self.extra);
        Value::Object(map)
    }

    fn write_ga(&self, map: &mut Map<String, Value>) {
        put(map, "type", self.kind.as_ref());
        if let Some(list) = &self.output_modalities {
            map.insert(
                "output_modalities".into(),
                modalities_to_wire(list, Dialect::Ga),
            );
        }
        let mut input = Map::new();
        if let Some(format) = self.input_audio_format {
            input.insert("format".into(), format.to_wire(Dialect::Ga));
        }
        put(
            &mut input,
            "transcription",
            self.input_transcription.as_ref(),
        );
        put(&mut input, "noise_reduction", self.noise_reduction.as_ref());
        put(&mut input, "turn_detection", self.turn_detection.as_ref());
        let mut output = Map::new();
        if let Some(format) = self.output_audio_format {
            output.insert("format".into(), format.to_wire(Dialect::Ga));
        }
        put(&mut output, "voice", self.voice.as_ref());
        put(&mut output, "speed", self.speed.as_ref());
        let mut audio = Map::new();
        if !input.is_empty() {
            audio.insert("input".into(), Value::Object(input));
        }
        if !output.is_empty() {
            audio.insert("output".into(), Value::Object(output));
        }
        if !audio.is_empty() {
            map.insert("audio".into(), Value::Object(audio));
        }
        put(map, "max_output_tokens", self.max_output_tokens.as_ref());
    }

    fn write_beta(&self, map: &mut Map<String, Value>) {
        if let Some(list) = &self.output_modalities {
            map.insert("modalities".into(), modalities_to_wire(list, Dialect::Beta));
        }
        put(map, "voice", self.voice.as_ref());
        put(map, "speed", self.speed.as_ref());
        if let Some(format) = self.input_audio_format {
            map.insert("input_audio_format".into(), format.to_wire(Dialect::Beta));
        }
        if let Some(format) = self.output_audio_format {
            map.insert("output_audio_format".into(), format.to_wire(Dialect::Beta));
        }
        put(
            map,
            "input_audio_transcription",
            self.input_transcription.as_ref(),
        );
        put(
            map,
            "input_audio_noise_reduction",
            self.noise_reduction.as_ref(),
        );
        put(map, "turn_detection", self.turn_detection.as_ref());
        put(map, "temperature", self.temperature.as_ref());
        put(
            map,
            "max_response_output_tokens",
            self.max_output_tokens.as_ref(),
        );
    }

    /// Reads a wire session object of either dialect.
    pub fn from_wire(wire: &Value) -> Result<SessionConfig, serde_json::Error> {
        let Value::Object(map) = wire else {
            return Err(serde::de::Error::custom("a session must be a JSON object"));
        };
        let mut map = map.clone();
        let dialect = Self::detect_dialect(&map);
        let mut config = SessionConfig {
            instructions: take(&mut map, "instructions")?,
            model: take(&mut map, "model")?,
            tools: take(&mut map, "tools")?,
            tool_choice: take(&mut map, "tool_choice")?,
            ..SessionConfig::default()
        };
        match dialect {
            Dialect::Ga => config.read_ga(&mut map)?,
            Dialect::Beta => config.read_beta(&mut map)?,
        }
        config.extra = map;
        Ok(config)
    }

    fn read_ga(&mut self, map: &mut Map<String, Value>) -> Result<(), serde_json::Error> {
        self.kind = take(map, "type")?;
        self.output_modalities = take(map, "output_modalities")?;
        self.max_output_tokens = take(map, "max_output_tokens")?;
        let mut audio = take_object(map, "audio");
        let mut input = take_object(&mut audio, "input");
        self.input_audio_format = take_format(&mut input)?;
        self.input_transcription = take_nullable(&mut input, "transcription")?;
        self.noise_reduction = take_nullable(&mut input, "noise_reduction")?;
        self.turn_detection = take_nullable(&mut input, "turn_detection")?;
        let mut output = take_object(&mut audio, "output");
        self.output_audio_format = take_format(&mut output)?;
        self.voice = take(&mut output, "voice")?;
        self.speed = take(&mut output, "speed")?;
        restore_object(&mut audio, "input", input);
        restore_object(&mut audio, "output", output);
        restore_object(map, "audio", audio);
        Ok(())
    }

    fn read_beta(&mut self, map: &mut Map<String, Value>) -> Result<(), serde_json::Error> {
        self.output_modalities = take(map, "modalities")?;
        self.voice = take(map, "voice")?;
        self.speed = take(map, "speed")?;
        self.input_audio_format = take(map, "input_audio_format")?;
        self.output_audio_format = take(map, "output_audio_format")?;
        self.input_transcription = take_nullable(map, "input_audio_transcription")?;
        self.noise_reduction = take_nullable(map, "input_audio_noise_reduction")?;
        self.turn_detection = take_nullable(map, "turn_detection")?;
        self.temperature = take(map, "temperature")?;
        self.max_output_tokens = take(map, "max_response_output_tokens")?;
        Ok(())
    }

    /// Applies `update` on top of `self` the way the server does for `session.update`: fields
    /// present in the update replace ours, others stay.
    pub fn merge(&mut self, update: &SessionConfig) {
        fn set<T: Clone>(ours: &mut Option<T>, theirs: &Option<T>) {
            if theirs.is_some() {
                ours.clone_from(theirs);
            }
        }
        set(&mut self.kind, &update.kind);
        set(&mut self.model, &update.model);
        set(&mut self.instructions, &update.instructions);
        set(&mut self.voice, &update.voice);
        set(&mut self.speed, &update.speed);
        set(&mut self.output_modalities, &update.output_modalities);
        set(&mut self.input_audio_format, &update.input_audio_format);
        set(&mut self.output_audio_format, &update.output_audio_format);
        set(&mut self.turn_detection, &update.turn_detection);
        set(&mut self.input_transcription, &update.input_transcription);
        set(&mut self.noise_reduction, &update.noise_reduction);
        set(&mut self.tools, &update.tools);
        set(&mut self.tool_choice, &update.tool_choice);
        set(&mut self.temperature, &update.temperature);
        set(&mut self.max_output_tokens, &update.max_output_tokens);
        merge_into(&mut self.extra, &update.extra);
    }

    /// The turn detection in effect, taking an unset field as the API default (server VAD).
    pub fn effective_turn_detection(&self) -> Option<TurnDetection> {
        match &self.turn_detection {
            None => Some(TurnDetection::ServerVad(ServerVad::default())),
            Some(setting) => setting.clone(),
        }
    }
}

/// Serializes the GA shape; use [`SessionConfig::to_wire`] for a specific dialect.
impl Serialize for SessionConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_wire(Dialect::Ga).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SessionConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        SessionConfig::from_wire(&value).map_err(serde::de::Error::custom)
    }
}

/// Takes the GA `format` object out of `map`, leaving behind any fields beyond `type` and `rate`
/// so that they are kept (and sent again) as unmodelled fields.
pub(crate) fn take_format(
    map: &mut Map<String, Value>,
) -> Result<Option<AudioFormat>, serde_json::Error> {
    let wire = match map.remove("format") {
        None | Some(Value::Null) => return Ok(None),
        Some(wire) => wire,
    };
    let format = AudioFormat::from_wire(&wire).ok_or_else(|| {
        <serde_json::Error as serde::de::Error>::custom(format!("unknown audio format {wire}"))
    })?;
    if let Value::Object(mut fields) = wire {
        fields.remove("type");
        fields.remove("rate");
        restore_object(map, "format", fields);
    }
    Ok(Some(format))
}
