//! Logs without secrets: a writer for `tracing-subscriber` that redacts API keys and client
//! secrets from every line it writes.
//!
//! The crate itself never logs a key: [`ApiKey`] prints `***`, and the transport marks the
//! handshake's `Authorization` header sensitive. Libraries underneath are another matter: at
//! `TRACE`, `tungstenite` logs the raw WebSocket handshake request, `Authorization` header
//! included. [`Redactor`] is the defence for that and anything like it: wrap the writer of your
//! `fmt` subscriber, and every line is scrubbed before it reaches stderr or a file.
//!
//! ```
//! use realtime_agent::ApiKey;
//! use realtime_agent::logging::Redactor;
//!
//! let key = ApiKey::new("my-azure-key-0123456789abcdef");
//! let redactor = Redactor::new();
//! redactor.add_secret(&key);
//! let subscriber = tracing_subscriber::fmt()
//!     .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
//!     .with_writer(redactor.writer(std::io::stderr))
//!     .finish();
//! # drop(subscriber);
//! assert_eq!(
//!     redactor.redact("sent my-azure-key-0123456789abcdef and Bearer sk-proj-abcdefghijklmnop"),
//!     "sent *** and Bearer ***"
//! );
//! ```
//!
//! # What it covers
//!
//! - Every event a `tracing-subscriber` `fmt` layer writes through [`Redactor::writer`], at
//!   every level and from every crate, including `log` records that `tracing-log` forwards
//!   (which is how `tungstenite`, `rustls` and `reqwest` log; `fmt().init()` installs that
//!   bridge).
//! - The secrets given to [`Redactor::add_secret`], wherever they appear in a line (as text,
//!   and hex-encoded as `tungstenite` prints frame payloads at TRACE), and, without
//!   being told, anything shaped like one: the token after `Bearer `, the value of an `api-key:`
//!   header, and `sk-…` / `ek_…` tokens of 16 or more characters.
//!
//! # What it does not cover
//!
//! - Output that does not go through the wrapped writer: other layers (OpenTelemetry, journald),
//!   your own `println!`, the default panic hook, and a subscriber installed without it.
//! - A secret that is never registered and has no recognisable shape, such as a custom token in
//!   a header of your own: register it with [`Redactor::add_secret`].
//! - A secret split by formatting, e.g. escaped character by character in a `Debug` string.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::{Arc, PoisonError, RwLock};

use tracing_subscriber::fmt::MakeWriter;

use crate::secret::ApiKey;

/// Registered secrets shorter than this are not redacted: a short value would blank out words.
const MIN_SECRET_LEN: usize = 8;
/// `sk-…` and `ek_…` tokens need this many characters after the prefix to count as secrets.
const MIN_TOKEN_LEN: usize = 16;
/// What a secret becomes.
const MASK: &str = "***";

/// Redacts secrets from text: the ones registered, and anything shaped like a key. Cheap to
/// clone; clones share their secrets, so a key learnt after logging started is still redacted.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self
            .secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Redactor").field("secrets", &count).finish()
    }
}

impl Redactor {
    /// A redactor that knows no secret yet (it still redacts key-shaped tokens).
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Redacts `secret` from now on, wherever it appears.
    pub fn add_secret(&self, secret: &ApiKey) {
        let value = secret.expose().trim();
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        // tungstenite logs received frames at TRACE with their payload in hex, so a secret that
        // travels inside a frame (a hosted MCP server's `authorization`, echoed back in
        // `session.updated`) shows in that form too.
        let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
        let mut secrets = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        for form in [value.to_owned(), hex] {
            if !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        // Longest first, so that a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        {
            let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
            for secret in secrets.iter() {
                if out.contains(secret.as_str()) {
                    out = Cow::Owned(out.replace(secret.as_str(), MASK));
                }
            }
        }
        match redact_shapes(&out) {
            Some(redacted) => Cow::Owned(redacted),
            None => out,
        }
    }

    /// Wraps `inner` (e.g. `std::io::stderr`, or any `MakeWriter`) so that everything written
    /// through it is redacted, one event at a time. Give it to
    /// `tracing_subscriber::fmt().with_writer(..)`.
    pub fn writer<M>(&self, inner: M) -> RedactingWriter<M> {
        RedactingWriter {
            inner,
            redactor: self.clone(),
        }
    }
}

/// Token characters: what keys, secrets and bearer tokens are made of.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
}

/// Masks key-shaped tokens; `None` when there is none.
fn redact_shapes(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let lower = lower.as_bytes();
    // (start, end) byte ranges to mask, found in order.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let token_end = |from: usize| {
        let mut end = from;
        while end < bytes.len() && is_token_byte(bytes[end]) {
            end += 1;
        }
        end
    };
    let mut i = 0;
    while i < bytes.len() {
        let rest = &lower[i..];
        let boundary = i == 0 || !is_token_byte(bytes[i - 1]);
        // A value after a header-like prefix: `bearer <token>`, `api-key: <token>`.
        let after_prefix = if rest.starts_with(b"bearer ") {
            Some(i + "bearer ".len())
        } else if rest.starts_with(b"api-key:") {
            let mut start = i + "api-key:".len();
            while start < bytes.len() && bytes[start] == b' ' {
                start += 1;
            }
            Some(start)
        } else {
            None
        };
        if let Some(start) = after_prefix {
            let end = token_end(start);
            if end - start >= MIN_SECRET_LEN {
                ranges.push((start, end));
                i = end;
                continue;
            }
        }
        if boundary && (rest.starts_with(b"sk-") || rest.starts_with(b"ek_")) {
            let end = token_end(i);
            if end - i - 3 >= MIN_TOKEN_LEN {
                ranges.push((i + 3, end));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    if ranges.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in ranges {
        out.push_str(&text[last..start]);
        out.push_str(MASK);
        last = end;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// A `MakeWriter` that redacts secrets from everything written through it: see
/// [`Redactor::writer`].
#[derive(Debug, Clone)]
pub struct RedactingWriter<M> {
    inner: M,
    redactor: Redactor,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingWriter<M> {
    type Writer = RedactedEvent<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedEvent::new(self.inner.make_writer(), self.redactor.clone())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactedEvent::new(self.inner.make_writer_for(meta), self.redactor.clone())
    }
}

/// One event's output: buffered, then redacted and written whole when flushed or dropped (so
/// that a secret split across two writes is still found).
#[derive(Debug)]
pub struct RedactedEvent<W: Write> {
    inner: W,
    buffer: Vec<u8>,
    redactor: Redactor,
}

impl<W: Write> RedactedEvent<W> {
    fn new(inner: W, redactor: Redactor) -> Self {
        RedactedEvent {
            inner,
            buffer: Vec::new(),
            redactor,
        }
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let redacted = self.redactor.redact(&text).into_owned();
        self.buffer.clear();
        self.inner.write_all(redacted.as_bytes())
    }
}

impl<W: Write> Write for RedactedEvent<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactedEvent<W> {
    fn drop(&mut self) {
        // Nowhere to report a failed log write, as with any `fmt` writer.
        let _ = self.write_out();
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Registered secrets and key-shaped tokens are masked; ordinary words are not.
    #[test]
    fn masks_secrets_and_key_shapes() {
        let r = Redactor::new();
        r.add_secret(&ApiKey::new("custom-secret-value"));
        r.add_secret(&ApiKey::new("short"));
        let line = "GET /v1/realtime\\r\\nauthorization: Bearer sk-proj-AbC_123-xyz0987654\\r\\n\
                    api-key: 0123456789abcdef0123 ek_abcdefghijklmnopqrst custom-secret-value \
                    short OPENAI_API_KEY is set; sk-short; task-1234567890abcdefghij";
        assert_eq!(
            r.redact(line),
            "GET /v1/realtime\\r\\nauthorization: Bearer ***\\r\\napi-key: *** ek_*** *** short \
             OPENAI_API_KEY is set; sk-short; task-1234567890abcdefghij"
        );
        assert!(matches!(r.redact("nothing to see"), Cow::Borrowed(_)));
    }

    /// tungstenite's TRACE line for a received frame prints the payload in hex.
    #[test]
    fn a_secret_is_redacted_in_a_hex_dump_too() {
        let r = Redactor::new();
        r.add_secret(&ApiKey::new("hosted-token-0042"));
        let payload = r#"{"authorization":"hosted-token-0042"}"#;
        let hex: String = payload.bytes().map(|b| format!("{b:02x}")).collect();
        let line = format!("received frame payload: 0x{hex}");
        let redacted = r.redact(&line);
        let token_hex: String = "hosted-token-0042"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!redacted.contains(&token_hex), "{redacted}");
        assert!(redacted.contains("***"), "{redacted}");
    }

    /// A line written in pieces is redacted whole.
    #[test]
    fn the_writer_redacts_whole_events() {
        #[derive(Clone, Default)]
        struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let redactor = Redactor::new();
        redactor.add_secret(&ApiKey::new("planted-0123456789"));
        let make = redactor.writer({
            let sink = sink.clone();
            move || sink.clone()
        });
        {
            let mut event = make.make_writer();
            event.write_all(b"key planted-01").unwrap();
            event.write_all(b"23456789 end\n").unwrap();
        }
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "key *** end\n");
    }
}
