//! Twilio Media Streams messages, both ways (JSON text frames).

use std::collections::HashMap;

use base64::Engine as _;
use serde::Deserialize;

/// A message from Twilio. Fields this server does not use are ignored.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub(crate) enum Inbound {
    /// The socket is open.
    Connected,
    /// The stream starts: ids, format, and the `<Parameter>`s of the TwiML.
    Start {
        /// What started.
        start: StartInfo,
    },
    /// 20 ms (usually) of the caller's audio.
    Media {
        /// The audio.
        media: MediaInfo,
    },
    /// A keypad digit.
    Dtmf {
        /// The digit.
        dtmf: DtmfInfo,
    },
    /// Playback reached a mark (or a `clear` dropped it).
    Mark {
        /// Which.
        mark: MarkInfo,
    },
    /// The stream ended.
    Stop,
    /// Anything else (new message types are ignored, not fatal).
    #[serde(other)]
    Other,
}

/// `start`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartInfo {
    pub(crate) stream_sid: String,
    #[serde(default)]
    pub(crate) call_sid: String,
    #[serde(default)]
    pub(crate) custom_parameters: HashMap<String, String>,
    #[serde(default)]
    pub(crate) media_format: Option<MediaFormat>,
}

/// `start.mediaFormat`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MediaFormat {
    pub(crate) encoding: String,
    pub(crate) sample_rate: u32,
}

/// `media`.
#[derive(Debug, Deserialize)]
pub(crate) struct MediaInfo {
    #[serde(default)]
    pub(crate) track: Option<String>,
    pub(crate) payload: String,
}

/// `dtmf`.
#[derive(Debug, Deserialize)]
pub(crate) struct DtmfInfo {
    pub(crate) digit: String,
}

/// `mark`.
#[derive(Debug, Deserialize)]
pub(crate) struct MarkInfo {
    pub(crate) name: String,
}

/// A message to Twilio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outbound {
    /// Audio (µ-law 8 kHz) to queue for playback.
    Media(Vec<u8>),
    /// Tell me when playback gets here.
    Mark(String),
    /// Drop everything queued.
    Clear,
}

impl Outbound {
    /// The JSON text frame for stream `stream_sid`.
    pub(crate) fn to_json(&self, stream_sid: &str) -> String {
        match self {
            Outbound::Media(audio) => {
                let payload = base64::engine::general_purpose::STANDARD.encode(audio);
                serde_json::json!({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})
                    .to_string()
            }
            Outbound::Mark(name) => {
                serde_json::json!({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})
                    .to_string()
            }
            Outbound::Clear => {
                serde_json::json!({"event": "clear", "streamSid": stream_sid}).to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_messages_decode_and_encode() {
        let start: Inbound = serde_json::from_str(
            r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"streamSid":"MZ1","accountSid":"AC1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"token":"t"}}}"#,
        )
        .unwrap();
        let Inbound::Start { start } = start else {
            panic!("a start message")
        };
        assert_eq!(start.call_sid, "CA1");
        assert_eq!(start.custom_parameters["token"], "t");
        assert_eq!(start.media_format.unwrap().sample_rate, 8000);
        assert!(matches!(
            serde_json::from_str::<Inbound>(r#"{"event":"somethingnew","x":1}"#).unwrap(),
            Inbound::Other
        ));
        assert_eq!(
            Outbound::Media(vec![0xff, 0x7f]).to_json("MZ1"),
            r#"{"event":"media","streamSid":"MZ1","media":{"payload":"/38="}}"#
        );
        assert_eq!(
            Outbound::Clear.to_json("MZ1"),
            r#"{"event":"clear","streamSid":"MZ1"}"#
        );
    }
}
