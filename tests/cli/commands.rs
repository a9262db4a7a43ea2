//! `agent tools`, `agent check` and `agent token`.

use std::time::{SystemTime, UNIX_EPOCH};

use realtime_agent::testing::FakeServer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::support::{Scratch, package_dir};

const TWO_TOOLS: &str = r#"
[[tools]]
kind = "command"
name = "add_note"
description = "Adds a note."
program = "./notes"
args = ["add", "{text}"]
timeout = 3
confirm = true

[tools.parameters]
type = "object"
required = ["text"]
properties.text = { type = "string", description = "The note.", maxLength = 200 }
properties.tag = { type = "string", enum = ["todo", "idea"] }

[[tools]]
kind = "http"
name = "weather"
description = "Current weather."
url = "https://weather.example.com/v1/{city}"
headers = { Authorization = "Bearer ${WEATHER_TOKEN}" }

[tools.parameters]
type = "object"
required = ["city"]
properties.city = { type = "string" }
"#;

/// `agent tools` prints exactly the `tools` array the session sends in `session.update`
/// (same JSON, same key order).
#[tokio::test]
async fn tools_prints_the_tools_the_session_sends() {
    let scratch = Scratch::new();
    let config = scratch.config(TWO_TOOLS);
    let config = config.to_str().unwrap();
    let run = scratch.run(&["tools", "--config", config], "", &[]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let printed: Value = serde_json::from_str(&run.stdout).expect("agent tools prints JSON");

    let server = FakeServer::start().await;
    let url = server.url();
    let conversation = scratch
        .run(
            &["--text", "--url", &url, "--config", config],
            "hello\n",
            &[],
        )
        .await;
    assert_eq!(conversation.code, 0, "{conversation:#?}");
    let update = server
        .received()
        .into_iter()
        .find(|r| r.event_type == "session.update")
        .expect("the session was configured");
    let sent: Value = serde_json::from_str(&update.raw).unwrap();
    assert_eq!(
        serde_json::to_string(&printed).unwrap(),
        serde_json::to_string(&sent["session"]["tools"]).unwrap(),
        "same tools, same key order"
    );
    assert_eq!(
        printed[0],
        json!({
            "type": "function",
            "name": "add_note",
            "description": "Adds a note.",
            "parameters": {
                "type": "object",
                "required": ["text"],
                "properties": {
                    "text": {"type": "string", "description": "The note.", "maxLength": 200},
                    "tag": {"type": "string", "enum": ["todo", "idea"]}
                }
            }
        })
    );
}

/// `agent check` on the shipped agent.toml: valid, every tool listed with what it runs, the
/// key reported as set without its value.
#[tokio::test]
async fn check_accepts_the_shipped_config_and_shows_no_secret() {
    const KEY: &str = "sk-planted-check-key-0123456789";
    let scratch = Scratch::new();
    let config = package_dir().join("agent.toml");
    let run = scratch
        .run(
            &["check", "--config", config.to_str().unwrap()],
            "",
            &[("OPENAI_API_KEY", KEY)],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let tools_dir = package_dir().join("tools");
    for line in [
        "model           gpt-realtime".to_owned(),
        "url             wss://api.openai.com/v1/realtime?model=gpt-realtime (from default)"
            .to_owned(),
        "api key         OPENAI_API_KEY is set".to_owned(),
        "tools (7):".to_owned(),
        format!(
            "  calculate       command {}, timeout 5 s",
            tools_dir.join("calculate").display()
        ),
        format!(
            "  open_url        command {}, timeout 10 s, asks before running",
            tools_dir.join("open-url").display()
        ),
        "  weather         http GET https://wttr.in/{city}?format=3, timeout 10 s".to_owned(),
        format!("{} is valid", config.display()),
    ] {
        assert!(
            run.stdout.lines().any(|l| l == line),
            "missing line {line:?} in\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains(KEY) && !run.stderr.contains(KEY));
}

/// `agent check` warns about the environment variables an HTTP tool's headers need.
#[tokio::test]
async fn check_lists_missing_env_vars_of_http_tools() {
    let scratch = Scratch::new();
    let config = scratch.config(TWO_TOOLS);
    let run = scratch
        .run(&["check", "--config", config.to_str().unwrap()], "", &[])
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(
            "warning: tool weather: environment variable WEATHER_TOKEN (used in its headers) is \
             not set"
        ),
        "{}",
        run.stdout
    );
    let run = scratch
        .run(
            &["check", "--config", config.to_str().unwrap()],
            "",
            &[("WEATHER_TOKEN", "secret-weather-token")],
        )
        .await;
    assert!(!run.stdout.contains("WEATHER_TOKEN"), "{}", run.stdout);
    assert!(!run.stdout.contains("secret-weather-token"));
}

/// `agent check` says whether echo cancellation or half-duplex is in force: echo cancellation
/// by default (half-duplex then off), half-duplex with the default speaker when it is off.
#[tokio::test]
async fn check_says_which_echo_handling_is_in_force() {
    let scratch = Scratch::new();
    for (audio, expected) in [
        (
            "",
            "audio           host auto, input default, output default, echo cancellation on, \
             half-duplex off, 20 ms frames",
        ),
        (
            "echo_cancellation = false\n",
            "audio           host auto, input default, output default, echo cancellation off, \
             half-duplex on with the default speaker, 20 ms frames",
        ),
        (
            "echo_cancellation = true\nhalf_duplex = true\n",
            "audio           host auto, input default, output default, echo cancellation on, \
             half-duplex on, 20 ms frames",
        ),
    ] {
        let config = scratch.config(&format!("[audio]\n{audio}"));
        let run = scratch
            .run(&["check", "--config", config.to_str().unwrap()], "", &[])
            .await;
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(
            run.stdout.lines().any(|l| l == expected),
            "no line {expected:?} in:\n{}",
            run.stdout
        );
    }
}

/// One HTTP request as the fake REST API saw it.
pub(super) struct Request {
    pub(super) head: String,
    pub(super) body: Value,
}

/// Accepts one request on `listener` and answers it with `status` and `answer`.
pub(super) async fn answer_one(listener: TcpListener, status: &str, answer: Value) -> Request {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head, body_start) = loop {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended early");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8(buffer[..end].to_vec()).unwrap(), end + 4);
        }
    };
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("the request has a body length");
    while buffer.len() < body_start + length {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the body ended early");
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buffer[body_start..body_start + length]).unwrap();
    let text = answer.to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    socket.write_all(response.as_bytes()).await.unwrap();
    socket.shutdown().await.ok();
    Request { head, body }
}

/// `agent token` posts the session to `/v1/realtime/client_secrets` with the key as a bearer
/// token and prints the secret and its expiry.
#[tokio::test]
async fn token_mints_a_client_secret() {
    const KEY: &str = "sk-planted-token-key-0123456789";
    let scratch = Scratch::new();
    let config = scratch.config("[agent]\nmodel = \"gpt-realtime\"\nvoice = \"marin\"\n");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let expires_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let server = tokio::spawn(answer_one(
        listener,
        "200 OK",
        json!({"value": "ek_test_secret_123", "expires_at": expires_at, "session": {"type": "realtime"}}),
    ));
    let run = scratch
        .run(
            &[
                "token",
                "--config",
                config.to_str().unwrap(),
                "--api-base",
                &base,
                "--expires-in",
                "600",
            ],
            "",
            &[("OPENAI_API_KEY", KEY)],
        )
        .await;
    let request = server.await.unwrap();
    assert_eq!(run.code, 0, "{run:#?}");
    let request_line = request.head.lines().next().unwrap();
    assert_eq!(request_line, "POST /v1/realtime/client_secrets HTTP/1.1");
    assert!(
        request
            .head
            .lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("authorization: Bearer {KEY}"))),
        "{}",
        request.head
    );
    assert_eq!(
        request.body,
        json!({
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {"transcription": {"model": "gpt-4o-mini-transcribe"}},
                    "output": {"voice": "marin"}
                },
                "model": "gpt-realtime"
            },
            "expires_after": {"anchor": "created_at", "seconds": 600}
        })
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "ek_test_secret_123");
    assert!(
        lines[1].starts_with("expires ") && lines[1].contains(" UTC (in "),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(KEY) && !run.stderr.contains(KEY));
}

/// A refused key when minting: exit 7 with the server's words, never the key.
#[tokio::test]
async fn token_refused_key_has_its_code() {
    const KEY: &str = "sk-planted-token-key-refused-0123";
    let scratch = Scratch::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let server = tokio::spawn(answer_one(
        listener,
        "401 Unauthorized",
        json!({"error": {"message": format!("Incorrect API key provided: {KEY}."), "type": "invalid_request_error"}}),
    ));
    let run = scratch
        .run(
            &["token", "--api-base", &base, "--json"],
            "",
            &[("OPENAI_API_KEY", KEY)],
        )
        .await;
    server.await.unwrap();
    assert_eq!(run.code, 7, "{run:#?}");
    assert!(
        run.stderr.contains(
            "error: cannot mint a client secret: the API answered HTTP 401: Incorrect API key \
             provided: ***."
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(KEY) && !run.stdout.contains(KEY));
}
