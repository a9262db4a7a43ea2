//! Twilio Media Streams end to end: signed webhooks, one-time media tokens, µ-law passed
//! through unchanged both ways, marks as the played position, barge-in, DTMF, the session limit.

use std::time::Duration;

use realtime_agent::protocol::{AudioFormat, ClientEvent};
use realtime_agent::serve::{Channel, ServeEvent};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::tool_fn;
use serde_json::Value;

use super::support::{WAIT, http, options, start};
use super::twilio_sim::{MediaCall, Signing, mulaw_speech, stream_token, voice};

/// Answers a webhook and opens the media stream it names.
async fn call(addr: std::net::SocketAddr, call_sid: &str) -> MediaCall {
    let answer = voice(addr, call_sid, Signing::Valid).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    MediaCall::connect(addr, call_sid, &stream_token(&answer.body)).await
}

/// Webhooks without a valid `X-Twilio-Signature` get 403; a signed one gets TwiML that connects
/// the call to the media socket with a token parameter.
#[tokio::test]
async fn webhooks_need_a_valid_signature() {
    let fake = FakeServer::start().await;
    let server = start(options("", &fake)).await;
    let unsigned = voice(server.addr, "CA1", Signing::Unsigned).await;
    assert_eq!(
        (unsigned.status, unsigned.body.as_str()),
        (403, "forbidden\n")
    );
    let wrong = voice(server.addr, "CA1", Signing::WrongToken).await;
    assert_eq!(wrong.status, 403);
    let signed = voice(server.addr, "CA1", Signing::Valid).await;
    assert_eq!(signed.status, 200);
    assert_eq!(
        signed.header("content-type"),
        Some("text/xml; charset=utf-8")
    );
    let token = stream_token(&signed.body);
    assert_eq!(token.len(), 43, "a 256-bit token: {token}");
    assert_eq!(
        signed.body,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect><Stream \
             url=\"wss://agent.example.com/twilio/media\"><Parameter name=\"token\" \
             value=\"{token}\"/></Stream></Connect></Response>"
        )
    );
    // A valid signature over another URL (a tampered query) is refused too.
    let tampered = http(
        server.addr,
        "POST",
        "/twilio/voice?x=1",
        &[(
            "X-Twilio-Signature",
            &realtime_agent::serve::twilio::sign(
                super::support::TWILIO_TOKEN.as_bytes(),
                "https://agent.example.com/twilio/voice",
                &[],
            ),
        )],
        b"",
    )
    .await;
    assert_eq!(tampered.status, 403);
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await;
    assert!(
        metrics
            .body
            .contains("agent_errors_total{kind=\"webhook_refused\"} 3\n"),
        "{}",
        metrics.body
    );
    assert_eq!(
        fake.connection_count(),
        0,
        "no session for refused webhooks"
    );
    server.shutdown().await;
}

/// The session uses audio/pcmu; the caller's speech reaches the model byte for byte; the answer
/// comes back as media frames of exactly the model's bytes, each followed by a mark.
#[tokio::test]
async fn mulaw_passes_through_both_ways() {
    let fake = FakeServer::start().await;
    let mut server = start(options("", &fake)).await;
    let mut twilio = call(server.addr, "CA100").await;
    fake.wait_until("session.update", WAIT, |f| {
        f.count_received("session.update") > 0
    })
    .await;
    let session = fake.session();
    assert_eq!(session.input_audio_format, Some(AudioFormat::G711Ulaw));
    assert_eq!(session.output_audio_format, Some(AudioFormat::G711Ulaw));
    let started = server
        .event(|e| match e {
            ServeEvent::CallStarted { call_id, channel } => Some((call_id.clone(), *channel)),
            _ => None,
        })
        .await;
    assert_eq!(started, ("CA100".to_owned(), Channel::Twilio));

    let mut speech = mulaw_speech("what time is it");
    speech.resize(speech.len().div_ceil(160) * 160, 0xff);
    assert!(speech.len() > 8000, "at least a second of speech");
    twilio.send_audio(&speech).await;
    let expected = speech.len();
    fake.wait_until("all caller audio", WAIT, |f| {
        f.input_audio().len() >= expected
    })
    .await;
    assert!(
        fake.input_audio() == speech,
        "the caller's bytes reached the model unchanged"
    );

    let answer: Vec<u8> = (0..2400u32).map(|i| (i * 7 % 256) as u8).collect();
    fake.start_response(Reply::audio("It is noon.", answer.clone()).chunked(800));
    let mut played = Vec::new();
    let mut marks = Vec::new();
    while played.len() < answer.len() || marks.len() < 3 {
        let message = twilio.next().await.expect("the answer streams");
        assert_eq!(message["streamSid"], twilio.stream_sid.as_str());
        match message["event"].as_str().unwrap() {
            "media" => {
                use base64::Engine as _;
                let payload = message["media"]["payload"].as_str().unwrap();
                played.extend(
                    base64::engine::general_purpose::STANDARD
                        .decode(payload)
                        .unwrap(),
                );
            }
            "mark" => marks.push(message["mark"]["name"].as_str().unwrap().to_owned()),
            other => panic!("unexpected {other}: {message}"),
        }
    }
    assert!(played == answer, "the model's bytes were played unchanged");
    assert_eq!(marks, ["m1", "m2", "m3"]);
    twilio.stop().await;
    let ended = server
        .event(|e| match e {
            ServeEvent::CallEnded { call_id, .. } => Some(call_id.clone()),
            _ => None,
        })
        .await;
    assert_eq!(ended, "CA100");
    server.shutdown().await;
}

/// Barge-in: the server sends `clear`, then truncates the answer at the last acknowledged mark
/// (what the caller actually heard), not at what was sent.
#[tokio::test]
async fn barge_in_clears_then_truncates_at_the_heard_mark() {
    let fake = FakeServer::start().await;
    let server = start(options("", &fake)).await;
    let mut twilio = call(server.addr, "CA200").await;
    fake.wait_until("session.update", WAIT, |f| {
        f.count_received("session.update") > 0
    })
    .await;
    // Five 100 ms chunks.
    fake.start_response(Reply::audio("A long answer.", vec![0x55; 4000]).chunked(800));
    let mut marks = Vec::new();
    while marks.len() < 5 {
        let message = twilio.next().await.expect("the answer streams");
        if message["event"] == "mark" {
            marks.push(message["mark"]["name"].as_str().unwrap().to_owned());
        }
    }
    // The caller heard two chunks.
    twilio.ack_mark(&marks[0]).await;
    twilio.ack_mark(&marks[1]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    fake.speech_started();
    let cleared = twilio.next().await.expect("a clear");
    assert_eq!(
        cleared,
        serde_json::json!({"event": "clear", "streamSid": twilio.stream_sid})
    );
    fake.wait_until("the truncate", WAIT, |f| !f.truncations().is_empty())
        .await;
    let item = fake
        .received()
        .iter()
        .find_map(|r| match &r.event {
            Some(ClientEvent::ConversationItemTruncate(t)) => Some(t.item_id.clone()),
            _ => None,
        })
        .expect("a truncate event");
    assert_eq!(fake.truncations(), vec![(item, 200)]);
    // Cleared marks coming back later are not playback.
    twilio.ack_mark(&marks[4]).await;
    twilio.stop().await;
    server.shutdown().await;
}

/// A media socket needs a fresh token from a verified webhook, for the same call: a replayed
/// token, a forged one, or one minted for another call is refused with 1008 and no session.
#[tokio::test]
async fn replayed_or_forged_media_sockets_are_refused() {
    let fake = FakeServer::start().await;
    let server = start(options("", &fake)).await;
    let answer = voice(server.addr, "CA300", Signing::Valid).await;
    let token = stream_token(&answer.body);
    let mut first = MediaCall::connect(server.addr, "CA300", &token).await;
    fake.wait_until("the first session", WAIT, |f| f.connection_count() == 1)
        .await;
    let mut replayed = MediaCall::connect(server.addr, "CA300", &token).await;
    assert_eq!(replayed.close_code().await, Some(1008));
    let mut forged = MediaCall::connect(server.addr, "CA301", "made-up-token").await;
    assert_eq!(forged.close_code().await, Some(1008));
    let other = voice(server.addr, "CA302", Signing::Valid).await;
    let mut wrong_call = MediaCall::connect(server.addr, "CA999", &stream_token(&other.body)).await;
    assert_eq!(wrong_call.close_code().await, Some(1008));
    assert_eq!(
        fake.connection_count(),
        1,
        "only the genuine stream got a session"
    );
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await;
    assert!(
        metrics
            .body
            .contains("agent_errors_total{kind=\"socket_refused\"} 3\n"),
        "{}",
        metrics.body
    );
    first.stop().await;
    server.shutdown().await;
}

/// Keypad digits are reported as events, and with `dtmf_as_text` reach the model as text.
#[tokio::test]
async fn dtmf_reaches_the_agent() {
    let fake = FakeServer::start().await;
    let mut server = start(options("[serve]\ndtmf_as_text = true\n", &fake)).await;
    let mut twilio = call(server.addr, "CA400").await;
    fake.wait_until("session.update", WAIT, |f| {
        f.count_received("session.update") > 0
    })
    .await;
    twilio.dtmf("5").await;
    let digit = server
        .event(|e| match e {
            ServeEvent::Dtmf { call_id, digit } => Some((call_id.clone(), digit.clone())),
            _ => None,
        })
        .await;
    assert_eq!(digit, ("CA400".to_owned(), "5".to_owned()));
    fake.wait_until("the digit as text", WAIT, |f| {
        f.received().iter().any(|r| r.raw.contains("[DTMF 5]"))
    })
    .await;
    let item: Value = serde_json::from_str(
        &fake
            .received()
            .iter()
            .find(|r| r.raw.contains("[DTMF 5]"))
            .unwrap()
            .raw,
    )
    .unwrap();
    assert_eq!(item["type"], "conversation.item.create");
    assert_eq!(item["item"]["content"][0]["text"], "[DTMF 5]");
    twilio.stop().await;
    server.shutdown().await;
}

/// A caller hanging up while a tool runs: the call is cancelled, answered on the wire before
/// the session closes (no response follows), and reported like any other tool call.
#[tokio::test]
async fn hanging_up_during_a_tool_call_still_answers_and_reports_it() {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct NoArgs {}
    let fake = FakeServer::start().await;
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Mutex::new(Some(started_tx));
    let mut options = options("", &fake);
    options
        .rust_tools
        .add(tool_fn(
            "lookup",
            "Looks something up.",
            move |_: NoArgs, ctx| {
                if let Some(tx) = started_tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                async move {
                    ctx.cancelled().await;
                    Ok::<_, String>("never seen")
                }
            },
        ))
        .unwrap();
    let mut server = start(options).await;
    let mut twilio = call(server.addr, "CA500").await;
    fake.wait_until("session.update", WAIT, |f| {
        f.count_received("session.update") > 0
    })
    .await;
    fake.start_response(Reply::new().and_call_with_id("call_1", "lookup", serde_json::json!({})));
    tokio::time::timeout(WAIT, started)
        .await
        .expect("the tool starts")
        .unwrap();
    twilio.stop().await;
    let reported = server
        .event(|e| match e {
            ServeEvent::ToolCall {
                call_id,
                name,
                output,
            } => Some((call_id.clone(), name.clone(), output.clone())),
            _ => None,
        })
        .await;
    // The caller hung up: the output says the session ended, not that the user interrupted.
    let cancelled = realtime_agent::tool::output::session_ended("lookup");
    assert_eq!(
        reported,
        ("CA500".to_owned(), "lookup".to_owned(), cancelled.clone())
    );
    server
        .event(|e| matches!(e, ServeEvent::CallEnded { .. }).then_some(()))
        .await;
    fake.wait_until("the connection to close", WAIT, |f| !f.is_open(0))
        .await;
    let after_update: Vec<String> = fake
        .received_types()
        .into_iter()
        .skip_while(|t| t != "session.update")
        .skip(1)
        .filter(|t| t != "input_audio_buffer.clear")
        .collect();
    assert_eq!(after_update, ["conversation.item.create"]);
    let outputs: Vec<(String, String)> = fake
        .received()
        .into_iter()
        .filter_map(|r| match r.event {
            Some(ClientEvent::ConversationItemCreate(create)) => match create.item {
                realtime_agent::protocol::Item::FunctionCallOutput(o) => {
                    Some((o.call_id, o.output))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(outputs, [("call_1".to_owned(), cancelled)]);
    server.shutdown().await;
}

/// At `max_sessions`, a new call gets a polite TwiML `<Reject>`; `/metrics` shows the live one.
#[tokio::test]
async fn calls_beyond_max_sessions_are_rejected_politely() {
    let fake = FakeServer::start().await;
    let server = start(options("[serve]\nmax_sessions = 1\n", &fake)).await;
    let mut first = call(server.addr, "CA500").await;
    fake.wait_until("the first session", WAIT, |f| f.connection_count() == 1)
        .await;
    let second = voice(server.addr, "CA501", Signing::Valid).await;
    assert_eq!(second.status, 200);
    assert_eq!(
        second.body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Reject reason=\"busy\"/></Response>"
    );
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await;
    assert!(
        metrics
            .body
            .contains("agent_active_sessions{channel=\"twilio\"} 1\n"),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("agent_errors_total{kind=\"at_capacity\"} 1\n")
    );
    first.stop().await;
    server.shutdown().await;
}
