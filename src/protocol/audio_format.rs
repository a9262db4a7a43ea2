//! Audio formats a session can use on the wire.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use super::Dialect;

/// The encoding of audio in `input_audio_buffer.append` and in response audio deltas.
///
/// PCM16 is signed 16-bit little-endian mono at 24 kHz; the G.711 formats are 8-bit at 8 kHz (the
/// telephony standard). Beta spells them `"pcm16"`, `"g711_ulaw"`, `"g711_alaw"`; GA as objects
/// `{"type":"audio/pcm","rate":24000}`, `{"type":"audio/pcmu"}`, `{"type":"audio/pcma"}`. Both
/// spellings decode; [`AudioFormat::to_wire`] writes the one a dialect expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AudioFormat {
    /// 16-bit little-endian PCM, mono, 24 kHz (48,000 bytes per second).
    #[default]
    Pcm16,
    /// G.711 mu-law, 8 kHz (8,000 bytes per second).
    G711Ulaw,
    /// G.711 A-law, 8 kHz (8,000 bytes per second).
    G711Alaw,
}

impl AudioFormat {
    /// Samples per second of this format.
    pub const fn sample_rate(self) -> u32 {
        match self {
            AudioFormat::Pcm16 => 24_000,
            AudioFormat::G711Ulaw | AudioFormat::G711Alaw => 8_000,
        }
    }

    /// Bytes per (mono) sample.
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            AudioFormat::Pcm16 => 2,
            AudioFormat::G711Ulaw | AudioFormat::G711Alaw => 1,
        }
    }

    /// Bytes per second of audio.
    pub const fn bytes_per_second(self) -> usize {
        self.sample_rate() as usize * self.bytes_per_sample()
    }

    /// How many bytes hold `ms` milliseconds of audio.
    pub const fn bytes_for_ms(self, ms: u32) -> usize {
        self.bytes_per_second() * ms as usize / 1000
    }

    /// Whole milliseconds held by `bytes` bytes of audio (rounded down, so never more than was
    /// received: the API rejects a truncation past the end of an item's audio).
    pub const fn ms_for_bytes(self, bytes: usize) -> u64 {
        (bytes as u64 * 1000) / self.bytes_per_second() as u64
    }

    /// The beta spelling: `"pcm16"`, `"g711_ulaw"` or `"g711_alaw"`. Also what `agent.toml` uses.
    pub const fn beta_name(self) -> &'static str {
        match self {
            AudioFormat::Pcm16 => "pcm16",
            AudioFormat::G711Ulaw => "g711_ulaw",
            AudioFormat::G711Alaw => "g711_alaw",
        }
    }

    /// The wire form of this format in `dialect`.
    pub fn to_wire(self, dialect: Dialect) -> Value {
        match dialect {
            Dialect::Beta => Value::from(self.beta_name()),
            Dialect::Ga => match self {
                AudioFormat::Pcm16 => json!({"type": "audio/pcm", "rate": 24000}),
                AudioFormat::G711Ulaw => json!({"type": "audio/pcmu"}),
                AudioFormat::G711Alaw => json!({"type": "audio/pcma"}),
            },
        }
    }

    /// Reads either dialect's spelling. `None` for a format this crate does not know.
    pub fn from_wire(value: &Value) -> Option<AudioFormat> {
        let name = match value {
            Value::String(s) => s.as_str(),
            Value::Object(map) => map.get("type")?.as_str()?,
            _ => return None,
        };
        match name {
            "pcm16" | "audio/pcm" => Some(AudioFormat::Pcm16),
            "g711_ulaw" | "audio/pcmu" => Some(AudioFormat::G711Ulaw),
            "g711_alaw" | "audio/pcma" => Some(AudioFormat::G711Alaw),
            _ => None,
        }
    }
}

impl std::fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.beta_name())
    }
}

impl std::str::FromStr for AudioFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AudioFormat::from_wire(&Value::from(s)).ok_or_else(|| {
            format!("unknown audio format `{s}` (expected pcm16, g711_ulaw or g711_alaw)")
        })
    }
}

/// Serializes the GA object form; use [`AudioFormat::to_wire`] for a specific dialect.
impl Serialize for AudioFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_wire(Dialect::Ga).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AudioFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        AudioFormat::from_wire(&value)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown audio format {value}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_down() {
        assert_eq!(AudioFormat::Pcm16.bytes_for_ms(20), 960);
        assert_eq!(AudioFormat::G711Ulaw.bytes_for_ms(20), 160);
        assert_eq!(AudioFormat::Pcm16.ms_for_bytes(959), 19);
        assert_eq!(AudioFormat::G711Alaw.ms_for_bytes(8000), 1000);
    }

    #[test]
    fn both_spellings_decode() {
        for f in [
            AudioFormat::Pcm16,
            AudioFormat::G711Ulaw,
            AudioFormat::G711Alaw,
        ] {
            for d in [Dialect::Ga, Dialect::Beta] {
                assert_eq!(AudioFormat::from_wire(&f.to_wire(d)), Some(f));
            }
        }
    }
}
