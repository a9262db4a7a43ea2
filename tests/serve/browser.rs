//! The browser page: token access (once, then an HttpOnly cookie), and real headless Chromium
//! with a fake microphone talking to the agent through the page's AudioWorklets.

use realtime_agent::protocol::Item;
use realtime_agent::serve::Secret;
use realtime_agent::testing::{FakeServer, Reply, ResponseRequest};
use realtime_agent::tool::{BoxError, ToolRegistry, tool_fn_without_context};
use serde_json::json;

use super::cdp::Browser;
use super::support::{WAIT, http, options, start};

const TOKEN: &str = "browser-token-for-tests";

/// With a token configured, the page is refused without it; `?token=` sets an HttpOnly cookie
/// and redirects to a clean address; the cookie then opens the page; the socket needs it too.
#[tokio::test]
async fn the_page_needs_the_token() {
    let fake = FakeServer::start().await;
    let mut options = options("", &fake);
    options.browser_token = Some(Secret::new(TOKEN));
    let server = start(options).await;
    let refused = http(server.addr, "GET", "/", &[], b"").await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.body,
        "a token is needed: open /?token=<the value of token_env>\n"
    );
    let wrong = http(server.addr, "GET", "/?token=guess", &[], b"").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    let given = http(server.addr, "GET", &format!("/?token={TOKEN}"), &[], b"").await;
    assert_eq!(given.status, 303);
    assert_eq!(given.header("location"), Some("/"));
    assert_eq!(
        given.header("set-cookie"),
        Some(format!("agent_token={TOKEN}; HttpOnly; SameSite=Strict; Path=/; Secure").as_str())
    );
    let cookie = format!("agent_token={TOKEN}");
    let page = http(server.addr, "GET", "/", &[("Cookie", &cookie)], b"").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("<button id=\"talk\""), "{}", page.body);
    assert!(
        page.body
            .contains("echoCancellation: true, noiseSuppression: true")
    );
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let socket = http(server.addr, "GET", "/browser/media", &upgrade, b"").await;
    assert_eq!(socket.status, 401);
    assert_eq!(fake.connection_count(), 0);
    server.shutdown().await;
}

/// The weather tool of the browser test.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    /// The city.
    city: String,
}

/// Headless Chromium with a fake microphone playing spoken words: the page streams them through
/// its capture worklet, the fake model's VAD hears them, a tool runs, and the user's words, the
/// tool call with its result and the answer all appear in the page.
#[tokio::test]
async fn chromium_talks_to_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    let spoken = dir.path().join("spoken.wav");
    let status = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&spoken)
        .arg("What is the weather in Paris?")
        .status()
        .expect("espeak-ng is installed");
    assert!(status.success());
    // 48 kHz 16-bit mono, with silence after the words so that the turn ends.
    let status = std::process::Command::new("sox")
        .arg(&spoken)
        .args(["-r", "48000", "-c", "1", "-b", "16"])
        .arg(&wav)
        .args(["pad", "0.5", "3"])
        .status()
        .expect("sox is installed");
    assert!(status.success());

    let fake = FakeServer::builder()
        .detect_speech(true)
        .responder(|request: &ResponseRequest<'_>| {
            if matches!(
                request.conversation.last(),
                Some(Item::FunctionCallOutput(_))
            ) {
                Reply::text("It is sunny in Paris.")
            } else {
                Reply::call("weather", json!({"city": "Paris"}))
            }
        })
        .start()
        .await;
    let mut options = options("", &fake);
    options.browser_token = Some(Secret::new(TOKEN));
    let mut tools = ToolRegistry::new();
    tools
        .add(tool_fn_without_context(
            "weather",
            "The weather in a city.",
            |args: City| async move { Ok::<_, BoxError>(format!("sunny, 21 °C in {}", args.city)) },
        ))
        .unwrap();
    options.rust_tools = tools;
    let server = start(options).await;

    let mut browser = Browser::launch(dir.path(), &wav).await;
    browser
        .call(
            "Page.navigate",
            json!({"url": format!("http://127.0.0.1:{}/?token={TOKEN}", server.addr.port())}),
        )
        .await;
    browser
        .wait_for(
            "the page",
            "!!document.getElementById('talk')",
            "document.body && document.body.innerText",
        )
        .await;
    browser
        .eval("document.getElementById('talk').click()")
        .await;
    // The fake model has no speech recognition: once its VAD has committed the page's audio as
    // a user item, the transcript is scripted as the API would send it.
    fake.wait_until("the user's spoken turn", WAIT * 2, |f| {
        f.conversation()
            .iter()
            .any(|item| matches!(item, Item::Message(m) if m.role == realtime_agent::protocol::Role::User))
    })
    .await;
    let user_item = fake
        .conversation()
        .iter()
        .find_map(|item| match item {
            Item::Message(m) if m.role == realtime_agent::protocol::Role::User => m.id.clone(),
            _ => None,
        })
        .expect("a user item id");
    assert!(
        fake.input_audio().len() > 48_000,
        "at least a second of microphone audio"
    );
    fake.send_raw(
        json!({
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "evt_t1",
            "item_id": user_item,
            "content_index": 0,
            "transcript": "What is the weather in Paris?"
        })
        .to_string(),
    );
    let text = "document.getElementById('log').innerText";
    browser
        .wait_for(
            "the user's words",
            "[...document.querySelectorAll('.user')].some(e => e.textContent.includes('weather in Paris'))",
            text,
        )
        .await;
    browser
        .wait_for(
            "the tool call and its result",
            "[...document.querySelectorAll('.tool')].some(e => e.textContent.includes('weather(') && e.textContent.includes('sunny, 21 °C in Paris'))",
            text,
        )
        .await;
    browser
        .wait_for(
            "the answer",
            "[...document.querySelectorAll('.assistant')].some(e => e.textContent.includes('It is sunny in Paris.'))",
            text,
        )
        .await;
    let level = browser
        .eval("document.getElementById('level').style.width")
        .await;
    assert!(
        level.as_str().is_some_and(|w| w.ends_with('%')),
        "the meter moved: {level}"
    );
    let png = browser.screenshot().await;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let artifact = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-browser.png");
    std::fs::write(&artifact, png).unwrap();
    drop(browser);
    server.shutdown().await;
}
