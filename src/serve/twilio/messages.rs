//! Twilio Media Streams messages, both ways (JSON text frames).

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine as _;
use serde::Deserialize;

/// A message from Twilio. Fields this server does not use are ignored.
///
/// A `media` message arrives 50 times a second per call, so the audio is borrowed from the
/// frame rather than copied (see [`Inbound::from_json`]).
#[derive(Debug)]
pub(crate) enum Inbound<'a> {
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
        media: MediaInfo<'a>,
    },
    /// A keypad digit.
    Dtmf {
        /// The digit.
        dtmf: DtmfInfo,
    },
    /// Playback reached a mark (or a `clear` dropped it).
    Mark {
        /// Which.
        mark: MarkInfo<'a>,
    },
    /// The stream ended.
    Stop,
    /// Anything else (new message types are ignored, not fatal).
    Other,
}

/// Every field of every message this server reads, flat: decoding it needs no buffering of
/// the whole message (as serde's internally tagged enums do) and borrows the strings.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(default)]
    start: Option<StartInfo>,
    #[serde(default, borrow)]
    media: Option<MediaInfo<'a>>,
    #[serde(default)]
    dtmf: Option<DtmfInfo>,
    #[serde(default, borrow)]
    mark: Option<MarkInfo<'a>>,
}

impl<'a> Inbound<'a> {
    /// Decodes one text frame.
    pub(crate) fn from_json(text: &'a str) -> Result<Self, serde_json::Error> {
        use serde::de::Error as _;
        let fields: Fields<'a> = serde_json::from_str(text)?;
        let missing = |name: &'static str| serde_json::Error::missing_field(name);
        Ok(match &*fields.event {
            "connected" => Inbound::Connected,
            "start" => Inbound::Start {
                start: fields.start.ok_or_else(|| missing("start"))?,
            },
            "media" => Inbound::Media {
                media: fields.media.ok_or_else(|| missing("media"))?,
            },
            "dtmf" => Inbound::Dtmf {
                dtmf: fields.dtmf.ok_or_else(|| missing("dtmf"))?,
            },
            "mark" => Inbound::Mark {
                mark: fields.mark.ok_or_else(|| missing("mark"))?,
            },
            "stop" => Inbound::Stop,
            _ => Inbound::Other,
        })
    }
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
pub(crate) struct MediaInfo<'a> {
    #[serde(default, borrow)]
    pub(crate) track: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) payload: Cow<'a, str>,
}

/// `dtmf`.
#[derive(Debug, Deserialize)]
pub(crate) struct DtmfInfo {
    pub(crate) digit: String,
}

/// `mark`.
#[derive(Debug, Deserialize)]
pub(crate) struct MarkInfo<'a> {
    #[serde(borrow)]
    pub(crate) name: Cow<'a, str>,
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
    /// The JSON text frame for stream `stream_sid`. Written directly (one allocation, sized
    /// up front): a call sends one `media` and one `mark` per audio delta.
    pub(crate) fn to_json(&self, stream_sid: &str) -> String {
        let mut out = String::with_capacity(match self {
            Outbound::Media(audio) => audio.len().div_ceil(3) * 4 + stream_sid.len() + 64,
            _ => stream_sid.len() + 64,
        });
        let event = match self {
            Outbound::Media(_) => "media",
            Outbound::Mark(_) => "mark",
            Outbound::Clear => "clear",
        };
        out.push_str(r#"{"event":""#);
        out.push_str(event);
        out.push_str(r#"","streamSid":"#);
        push_json_string(&mut out, stream_sid);
        match self {
            Outbound::Media(audio) => {
                out.push_str(r#","media":{"payload":""#);
                base64::engine::general_purpose::STANDARD.encode_string(audio, &mut out);
                out.push_str(r#""}}"#);
            }
            Outbound::Mark(name) => {
                out.push_str(r#","mark":{"name":"#);
                push_json_string(&mut out, name);
                out.push_str("}}");
            }
            Outbound::Clear => out.push('}'),
        }
        out
    }
}

/// Appends `text` as a JSON string literal.
fn push_json_string(out: &mut String, text: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_messages_decode_and_encode() {
        let start = Inbound::from_json(
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
            Inbound::from_json(r#"{"event":"somethingnew","x":1}"#).unwrap(),
            Inbound::Other
        ));
        let media = r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"/38="},"streamSid":"MZ1"}"#;
        let Inbound::Media { media } = Inbound::from_json(media).unwrap() else {
            panic!("a media message")
        };
        assert_eq!(media.track.as_deref(), Some("inbound"));
        assert!(
            matches!(media.payload, Cow::Borrowed("/38=")),
            "the audio is borrowed"
        );
        let Inbound::Mark { mark } =
            Inbound::from_json(r#"{"event":"mark","streamSid":"MZ1","mark":{"name":"m\u00317"}}"#)
                .unwrap()
        else {
            panic!("a mark message")
        };
        assert_eq!(mark.name, "m17");
        assert!(matches!(
            Inbound::from_json(r#"{"event":"stop","streamSid":"MZ1","stop":{}}"#).unwrap(),
            Inbound::Stop
        ));
        assert_eq!(
            Inbound::from_json(r#"{"event":"media","streamSid":"MZ1"}"#)
                .unwrap_err()
                .to_string(),
            "missing field `media`"
        );
        assert_eq!(
            Outbound::Media(vec![0xff, 0x7f]).to_json("MZ1"),
            r#"{"event":"media","streamSid":"MZ1","media":{"payload":"/38="}}"#
        );
        assert_eq!(
            Outbound::Clear.to_json("MZ1"),
            r#"{"event":"clear","streamSid":"MZ1"}"#
        );
        assert_eq!(
            Outbound::Mark("m2".into()).to_json("MZ1"),
            r#"{"event":"mark","streamSid":"MZ1","mark":{"name":"m2"}}"#
        );
        // Whatever the ids hold, the frame is the JSON serde_json would write.
        let odd = "M\"Z\\1\n\u{1}é";
        let frame = Outbound::Mark(odd.into()).to_json(odd);
        let parsed: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"event": "mark", "streamSid": odd, "mark": {"name": odd}})
        );
        assert_eq!(
            frame,
            serde_json::json!({"event": "mark", "streamSid": odd, "mark": {"name": odd}})
                .to_string()
        );
    }
}
