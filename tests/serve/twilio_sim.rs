//! A Twilio client simulator: signed call webhooks and a Media Streams client that speaks
//! Twilio's messages (connected, start, media, dtmf, mark, stop).

use std::net::SocketAddr;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::support::{HttpResponse, PUBLIC_URL, TWILIO_TOKEN, WAIT, http};

/// How a webhook is signed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signing {
    /// With the right auth token.
    Valid,
    /// No `X-Twilio-Signature` at all.
    Unsigned,
    /// With another auth token.
    WrongToken,
}

/// The form Twilio posts for a new call.
pub fn call_params(call_sid: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+15551230000"),
        ("To", "+15559870000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Posts the call webhook for `call_sid`, signed as `signing` says.
pub async fn voice(addr: SocketAddr, call_sid: &str, signing: Signing) -> HttpResponse {
    let params = call_params(call_sid);
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let url = format!("{PUBLIC_URL}/twilio/voice");
    let signature = match signing {
        Signing::Valid => Some(realtime_agent::serve::twilio::sign(
            TWILIO_TOKEN.as_bytes(),
            &url,
            &params,
        )),
        Signing::WrongToken => Some(realtime_agent::serve::twilio::sign(
            b"not-the-auth-token",
            &url,
            &params,
        )),
        Signing::Unsigned => None,
    };
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(signature) = &signature {
        headers.push(("X-Twilio-Signature", signature.as_str()));
    }
    http(addr, "POST", "/twilio/voice", &headers, body.as_bytes()).await
}

/// The token parameter of a `<Connect><Stream>` answer.
pub fn stream_token(twiml: &str) -> String {
    let at = twiml
        .find("<Parameter name=\"token\" value=\"")
        .expect("the TwiML carries a token parameter");
    let rest = &twiml[at + "<Parameter name=\"token\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A Media Streams connection as Twilio holds it.
pub struct MediaCall {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub stream_sid: String,
    sequence: u64,
    chunk: u64,
}

impl MediaCall {
    /// Opens `/twilio/media` and sends `connected` and `start` with `token` for `call_sid`.
    pub async fn connect(addr: SocketAddr, call_sid: &str, token: &str) -> MediaCall {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/twilio/media"))
            .await
            .expect("the media socket upgrades");
        let mut call = MediaCall {
            ws,
            stream_sid: format!("MZ{call_sid}"),
            sequence: 0,
            chunk: 0,
        };
        call.send(json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            .await;
        let stream_sid = call.stream_sid.clone();
        call.send(json!({
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": stream_sid,
            "start": {
                "streamSid": stream_sid,
                "accountSid": "AC0123456789abcdef0123456789abcdef",
                "callSid": call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {"token": token}
            }
        }))
        .await;
        call
    }

    async fn send(&mut self, mut message: Value) {
        self.sequence += 1;
        if message["event"] != "connected" {
            message["sequenceNumber"] = json!(self.sequence.to_string());
        }
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("the media socket takes messages");
    }

    /// Sends `audio` (µ-law) as 20 ms `media` messages.
    pub async fn send_audio(&mut self, audio: &[u8]) {
        for frame in audio.chunks(160) {
            self.chunk += 1;
            let message = json!({
                "event": "media",
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": self.chunk.to_string(),
                    "timestamp": (self.chunk * 20).to_string(),
                    "payload": base64::engine::general_purpose::STANDARD.encode(frame)
                }
            });
            self.send(message).await;
        }
    }

    /// Returns a mark, as Twilio does when playback reaches it.
    pub async fn ack_mark(&mut self, name: &str) {
        let message =
            json!({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}});
        self.send(message).await;
    }

    /// Sends a keypad digit.
    pub async fn dtmf(&mut self, digit: &str) {
        let message = json!({"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"track": "inbound_track", "digit": digit}});
        self.send(message).await;
    }

    /// Sends `stop` (the caller hung up).
    pub async fn stop(&mut self) {
        let message = json!({"event": "stop", "streamSid": self.stream_sid, "stop": {"accountSid": "AC0", "callSid": "CA0"}});
        self.send(message).await;
    }

    /// The next JSON message from the server; `None` once the socket is closed.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the server sends something in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("JSON from the server"));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The close code the server sent, reading past any other message.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the server closes in time");
            match message {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    }
}

/// µ-law 8 kHz speech of `text`, made by espeak-ng and sox.
pub fn mulaw_speech(text: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let wav = dir.path().join("speech.wav");
    let raw = dir.path().join("speech.ul");
    let status = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng is installed (.ci/run installs it)");
    assert!(status.success(), "espeak-ng failed");
    let status = std::process::Command::new("sox")
        .arg(&wav)
        .args(["-r", "8000", "-c", "1", "-e", "mu-law", "-t", "raw"])
        .arg(&raw)
        .status()
        .expect("sox is installed (.ci/run installs it)");
    assert!(status.success(), "sox failed");
    std::fs::read(raw).expect("the µ-law file")
}
