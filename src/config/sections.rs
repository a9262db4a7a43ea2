//! The tables of `agent.toml`, as typed settings.

use std::path::PathBuf;

use serde::Deserialize;

use crate::protocol::{Dialect, MaxTokens, Modality};

/// `[agent]`: the model, the connection and the session's main settings.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// The model (default `gpt-realtime`).
    pub model: Option<String>,
    /// The wire dialect: `ga` (default) or `beta`.
    pub api: Option<Dialect>,
    /// The WebSocket URL (for Azure, compatible servers, a proxy). `--url` wins over it, and it
    /// wins over `OPENAI_REALTIME_URL`.
    pub url: Option<String>,
    /// The assistant's voice (`marin`, `cedar`, `alloy`, …).
    pub voice: Option<String>,
    /// System instructions.
    pub instructions: Option<String>,
    /// A file holding the instructions, relative to `agent.toml` (instead of `instructions`).
    pub instructions_file: Option<PathBuf>,
    /// `["audio"]` (spoken answers with transcripts, the default) or `["text"]`.
    pub output_modalities: Option<Vec<Modality>>,
    /// Sampling temperature, 0.6 to 1.2 (the beta API only; GA has none).
    pub temperature: Option<f64>,
    /// Speech speed, 0.25 to 1.5.
    pub speed: Option<f64>,
    /// The most tokens per response: a number up to 4096, or `"inf"`.
    pub max_output_tokens: Option<MaxTokens>,
    /// The environment variable holding the API key (default `OPENAI_API_KEY`). The key itself
    /// never goes in the file.
    pub api_key_env: Option<String>,
    /// The names of the declared `[[tools]]` this starting agent has (default: all of them).
    pub tools: Option<Vec<String>>,
    /// The agents (`[agents.NAME]`) it may hand the conversation to.
    pub handoffs: Option<Vec<String>>,
}

/// How `[turn_detection]` decides that the user has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnDetectionKind {
    /// The server's voice activity detection (silence ends a turn). The default.
    #[default]
    ServerVad,
    /// A model judges whether the user has finished.
    SemanticVad,
    /// Manual turns: the client commits (push-to-talk, files).
    None,
}

impl TurnDetectionKind {
    /// The name in `agent.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            TurnDetectionKind::ServerVad => "server_vad",
            TurnDetectionKind::SemanticVad => "semantic_vad",
            TurnDetectionKind::None => "none",
        }
    }
}

/// How eagerly semantic VAD ends the user's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Eagerness {
    /// Waits longer (lets the user think).
    Low,
    /// In between.
    Medium,
    /// Answers quickly.
    High,
    /// The server's choice (medium).
    Auto,
}

impl Eagerness {
    /// The name on the wire and in `agent.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Eagerness::Low => "low",
            Eagerness::Medium => "medium",
            Eagerness::High => "high",
            Eagerness::Auto => "auto",
        }
    }
}

/// `[turn_detection]`. Which keys apply depends on `type`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnDetectionSection {
    /// `server_vad` (default), `semantic_vad` or `none`.
    #[serde(rename = "type", default)]
    pub kind: TurnDetectionKind,
    /// server_vad: activation threshold, 0 to 1 (default 0.5); higher needs louder speech.
    pub threshold: Option<f64>,
    /// server_vad: audio kept before detected speech, in ms (default 300).
    pub prefix_padding_ms: Option<u32>,
    /// server_vad: silence that ends a turn, in ms (default 500).
    pub silence_duration_ms: Option<u32>,
    /// server_vad (GA): after this much silence (5000 to 30000 ms) the model speaks up.
    pub idle_timeout_ms: Option<u32>,
    /// semantic_vad: `low`, `medium`, `high` or `auto`.
    pub eagerness: Option<Eagerness>,
    /// Whether the server answers when a turn ends (default true).
    pub create_response: Option<bool>,
    /// Whether the user's speech interrupts the answer in progress (default true).
    pub interrupt_response: Option<bool>,
}

/// `[transcription]`: the transcript of what the user says, by a separate model.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptionSection {
    /// `false` turns transcription off (default on, so that both sides are shown).
    pub enabled: Option<bool>,
    /// The transcription model (default `gpt-4o-mini-transcribe`).
    pub model: Option<String>,
    /// The input language (ISO-639-1, e.g. `en`), if known.
    pub language: Option<String>,
    /// A prompt guiding the transcription (names, vocabulary).
    pub prompt: Option<String>,
}

/// The sound system to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostChoice {
    /// PulseAudio (or PipeWire) when a server answers, else ALSA.
    #[default]
    Auto,
    /// PulseAudio or PipeWire's PulseAudio service.
    #[serde(alias = "pipewire", alias = "pulse")]
    PulseAudio,
    /// ALSA directly.
    Alsa,
}

impl HostChoice {
    /// The name in `agent.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            HostChoice::Auto => "auto",
            HostChoice::PulseAudio => "pulseaudio",
            HostChoice::Alsa => "alsa",
        }
    }
}

/// Input noise reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseReductionChoice {
    /// For headsets.
    NearField,
    /// For laptop and room microphones.
    FarField,
    /// No noise reduction.
    Off,
}

/// `[audio]`: devices and how they are used.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioSection {
    /// The microphone, by the name `agent devices` shows (default: the system's default).
    pub input_device: Option<String>,
    /// The speaker, by the name `agent devices` shows (default: the system's default).
    pub output_device: Option<String>,
    /// `auto` (default), `pulseaudio` or `alsa`.
    pub host: Option<HostChoice>,
    /// Mute the microphone while the assistant is audible, so that a loudspeaker does not make
    /// it interrupt itself. Default: off while echo cancellation is on; otherwise on with the
    /// default speaker. Set `false` with headphones.
    pub half_duplex: Option<bool>,
    /// Remove the speaker's sound from the microphone signal (acoustic echo cancellation), so
    /// that the user can talk over the assistant on open speakers. Default: on for the
    /// microphone and speaker; WAV files and in-memory audio have no echo to cancel.
    pub echo_cancellation: Option<bool>,
    /// Milliseconds of audio per microphone frame sent (default 20).
    pub frame_ms: Option<u32>,
    /// `near_field`, `far_field` or `off` (default: the server's, off).
    pub noise_reduction: Option<NoiseReductionChoice>,
}
