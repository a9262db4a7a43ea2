//! The API key never appears in logs, errors, recorded frames or debug output; ephemeral keys
//! are minted against a local HTTP fake.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use realtime_agent::ApiKey;
use realtime_agent::agent::{Agent, AgentEvent};
use realtime_agent::logging::Redactor;
use realtime_agent::protocol::{Dialect, Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::token::{TokenError, TokenOptions, mint_client_secret};
use realtime_agent::transport::{ConnectOptions, Direction, Recorder, connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing_subscriber::Layer as _;

const PLANTED: &str = "sk-planted-KEY-7f3a9c0e11";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Frames(Mutex<String>);

impl Recorder for Frames {
    fn record(&self, direction: Direction, frame: &str) {
        let mut all = self.0.lock().unwrap();
        all.push_str(direction.as_str());
        all.push_str(frame);
        all.push('\n');
    }
}

/// A planted key is absent from every log line (at TRACE, from every crate, through the
/// [`Redactor`] writer as the README sets it up), every error, every recorded frame and every
/// Debug rendering, even when the server quotes it back and across a reconnection. The same
/// events written without the redactor do hold the key: the WebSocket library's TRACE line of
/// the handshake request.
#[tokio::test]
async fn a_planted_key_appears_nowhere() {
    use tracing_subscriber::layer::SubscriberExt as _;
    // `log` records (tungstenite, rustls, reqwest) reach tracing as `fmt().init()` would route them.
    let _ = tracing_log::LogTracer::init();
    let logs = Buffer::default();
    let raw = Buffer::default();
    let redactor = Redactor::new();
    redactor.add_secret(&ApiKey::new(PLANTED));
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(redactor.writer({
                    let logs = logs.clone();
                    move || logs.clone()
                }))
                .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer({
                    let raw = raw.clone();
                    move || raw.clone()
                })
                .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
        );
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut seen = String::new();

    let server = FakeServer::builder()
        .reply(Reply::call("echo", serde_json::json!({"x": 1})))
        .reply(Reply::text("done"))
        .start()
        .await;
    let options = ConnectOptions {
        url: Some(server.url()),
        api_key: Some(ApiKey::new(PLANTED)),
        ..ConnectOptions::default()
    };
    seen += &format!("{options:?}\n");

    // A refused handshake whose body quotes the key.
    server.refuse_handshakes(401, None, 1);
    let error = connect(&options).await.unwrap_err();
    seen += &format!("{error}\n{error:?}\n");
    let agent_error = realtime_agent::Error::from(error);
    seen += &format!("{agent_error}\n{agent_error:?}\n");
    assert!(
        server.handshakes()[0]
            .authorization
            .as_deref()
            .unwrap()
            .contains(PLANTED),
        "the key was sent"
    );

    // A whole session with a tool call, every frame recorded.
    let frames = Arc::new(Frames(Mutex::new(String::new())));
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Echo {
        x: i64,
    }
    let echo =
        realtime_agent::tool::tool_fn_without_context("echo", "Echoes.", |v: Echo| async move {
            Ok::<_, String>(v.x.to_string())
        });
    let builder = Agent::builder()
        .connect_options(options.clone())
        .session(SessionConfig {
            output_modalities: Some(vec![Modality::Text]),
            ..SessionConfig::default()
        })
        .recorder(frames.clone())
        .tool(echo);
    seen += &format!("{builder:?}\n");
    let agent = builder.build().unwrap();
    seen += &format!("{agent:?}\n");
    let handle = agent.handle();
    seen += &format!("{handle:?}\n");
    let mut events = handle.subscribe(1024);
    let task = tokio::spawn(agent.run());
    handle.send_text("hello").await.unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        seen += &format!("{event:?}\n");
        if matches!(event, AgentEvent::Idle) {
            break;
        }
    }
    // A reconnection: a second handshake, logged like the first.
    server.drop_connection();
    server
        .wait_for_connections(2, Duration::from_secs(10))
        .await;
    handle.send_text("again").await.unwrap();
    let mut reconnected = false;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        seen += &format!("{event:?}\n");
        reconnected |= matches!(event, AgentEvent::Reconnected { .. });
        if reconnected && matches!(event, AgentEvent::Idle) {
            break;
        }
    }
    handle.shutdown();
    task.await.unwrap().unwrap();

    let raw = String::from_utf8(raw.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        raw.matches("Request: ").count(),
        3,
        "the refused handshake, the first and the reconnection, each logged at TRACE"
    );
    assert!(
        raw.contains(PLANTED),
        "without the redactor the key is in the log"
    );
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("authorization: Bearer ***"), "{logs}");
    let frames = frames.0.lock().unwrap().clone();
    assert!(
        logs.contains("handshake failed") && logs.contains("connected"),
        "{logs}"
    );
    assert!(frames.contains("function_call_output") && !seen.is_empty());
    for (what, text) in [
        ("logs", &logs),
        ("frames", &frames),
        ("errors and debug output", &seen),
    ] {
        assert!(
            !text.contains(PLANTED),
            "the key leaked into the {what}:\n{text}"
        );
    }
    assert!(
        seen.contains("Incorrect API key provided: ***"),
        "the server's message is kept, scrubbed"
    );
}

/// A one-request HTTP server on 127.0.0.1: returns the raw request it got.
async fn http_fake(status: u16, body: String) -> (String, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket.read(&mut buffer).await.unwrap();
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length {
                    break;
                }
            }
        }
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8(request).unwrap()
    });
    (base, task)
}

fn body_of(request: &str) -> serde_json::Value {
    serde_json::from_str(request.split_once("\r\n\r\n").unwrap().1).unwrap()
}

/// GA: `POST /v1/realtime/client_secrets` with the session and expiry; the secret comes back.
#[tokio::test]
async fn mints_a_ga_client_secret() {
    let answer = serde_json::json!({"value": "ek_test123", "expires_at": 1_900_000_000, "session": {"type": "realtime", "model": "gpt-realtime"}});
    let (base, server) = http_fake(200, answer.to_string()).await;
    let mut options = TokenOptions::new(ApiKey::new(PLANTED), "gpt-realtime");
    options.api_base = Some(base);
    options.expires_after = Some(Duration::from_secs(600));
    options.session.instructions = Some("Be brief.".into());
    let secret = mint_client_secret(&options).await.unwrap();
    assert_eq!(secret.value.expose(), "ek_test123");
    assert_eq!(secret.expires_at, Some(1_900_000_000));
    let request = server.await.unwrap();
    assert!(
        request.starts_with("POST /v1/realtime/client_secrets HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(request.to_ascii_lowercase().contains(&format!(
        "authorization: bearer {}",
        PLANTED.to_ascii_lowercase()
    )));
    assert_eq!(
        body_of(&request),
        serde_json::json!({
            "session": {"type": "realtime", "instructions": "Be brief.", "model": "gpt-realtime"},
            "expires_after": {"anchor": "created_at", "seconds": 600}
        })
    );
}

/// Beta: `POST /v1/realtime/sessions` with the beta session; the secret is `client_secret.value`.
#[tokio::test]
async fn mints_a_beta_client_secret() {
    let answer = serde_json::json!({"id": "sess_1", "model": "gpt-4o-realtime-preview", "client_secret": {"value": "ek_beta", "expires_at": 1_800_000_000}});
    let (base, server) = http_fake(200, answer.to_string()).await;
    let mut options = TokenOptions::new(ApiKey::new(PLANTED), "gpt-4o-realtime-preview");
    options.api_base = Some(base);
    options.dialect = Dialect::Beta;
    options.session.output_modalities = Some(vec![Modality::Text]);
    let secret = mint_client_secret(&options).await.unwrap();
    assert_eq!(secret.value.expose(), "ek_beta");
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /v1/realtime/sessions HTTP/1.1\r\n"));
    assert_eq!(
        body_of(&request),
        serde_json::json!({"modalities": ["text"], "model": "gpt-4o-realtime-preview"})
    );
}

/// A refused key is an HTTP error whose message (which quoted the key) is scrubbed.
#[tokio::test]
async fn refused_token_request_is_scrubbed() {
    let answer =
        serde_json::json!({"error": {"message": format!("Incorrect API key provided: {PLANTED}")}});
    let (base, _server) = http_fake(401, answer.to_string()).await;
    let mut options = TokenOptions::new(ApiKey::new(PLANTED), "gpt-realtime");
    options.api_base = Some(base);
    let error = mint_client_secret(&options).await.unwrap_err();
    assert!(matches!(error, TokenError::Http { status: 401, .. }));
    let text = format!("{error} {error:?}");
    assert!(
        text.contains("Incorrect API key provided: ***") && !text.contains(PLANTED),
        "{text}"
    );
}
