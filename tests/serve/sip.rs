//! OpenAI SIP calls: verified webhooks, the accept posted to a local fake REST endpoint with
//! agent.toml's session, the sideband socket with `call_id`, and tool round trips over it,
//! `transfer_call` and `hang_up` included.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use base64::Engine as _;
use realtime_agent::protocol::{ClientEvent, Item};
use realtime_agent::serve::sip::signature::sign;
use realtime_agent::serve::{Secret, ServeEvent};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::{BoxError, tool_fn_without_context};
use serde_json::{Value, json};

use super::support::{Running, WAIT, http, options, start};

const SECRET: &[u8] = b"sip-webhook-secret-for-tests";

/// The REST calls the fake provider received, as `(path, body)`.
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

/// A fake OpenAI REST endpoint on 127.0.0.1 that records `/v1/realtime/calls/{id}/{action}`.
async fn fake_rest() -> (SocketAddr, Calls) {
    let calls: Calls = Arc::default();
    async fn record(
        State(calls): State<Calls>,
        Path((call_id, action)): Path<(String, String)>,
        body: Bytes,
    ) -> &'static str {
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        calls
            .lock()
            .unwrap()
            .push((format!("/v1/realtime/calls/{call_id}/{action}"), body));
        ""
    }
    let app = axum::Router::new()
        .route(
            "/v1/realtime/calls/{call_id}/{action}",
            axum::routing::post(record),
        )
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, calls)
}

async fn wait_for_rest(calls: &Calls, what: &str, mut f: impl FnMut(&[(String, Value)]) -> bool) {
    tokio::time::timeout(WAIT, async {
        while !f(&calls.lock().unwrap()) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}: {:?}", calls.lock().unwrap()));
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn incoming(call_id: &str) -> Vec<u8> {
    json!({
        "object": "event",
        "id": format!("evt_{call_id}"),
        "type": "realtime.call.incoming",
        "created_at": now(),
        "data": {
            "call_id": call_id,
            "sip_headers": [{"name": "From", "value": "sip:+15551230000@example.com"}]
        }
    })
    .to_string()
    .into_bytes()
}

/// Posts `body` to the webhook, signed with `secret` at `timestamp` (or unsigned).
async fn post(server: &Running, body: &[u8], signing: Option<(&[u8], i64)>) -> u16 {
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    if let Some((secret, timestamp)) = signing {
        headers.push(("webhook-id", "wh_1".to_owned()));
        headers.push(("webhook-timestamp", timestamp.to_string()));
        headers.push(("webhook-signature", sign(secret, "wh_1", timestamp, body)));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    http(server.addr, "POST", "/openai/webhook", &headers, body)
        .await
        .status
}

/// `order_status`'s arguments.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Order {
    /// The order number.
    id: u32,
}

async fn sip_server(toml: &str, fake: &FakeServer, rest: SocketAddr) -> Running {
    let mut options = options(toml, fake);
    options.webhook_secret = Some(Secret::new(SECRET));
    options.api_base = Some(format!("http://{rest}/v1"));
    let mut tools = realtime_agent::tool::ToolRegistry::new();
    tools
        .add(tool_fn_without_context(
            "order_status",
            "Looks up an order.",
            |args: Order| async move { Ok::<_, BoxError>(format!("order {} shipped", args.id)) },
        ))
        .unwrap();
    options.rust_tools = tools;
    start(options).await
}

/// The secret as OpenAI shows it parses to the HMAC key.
#[test]
fn whsec_secrets_decode() {
    let shown = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(SECRET)
    );
    let key = realtime_agent::serve::decode_webhook_secret(shown.as_bytes()).unwrap();
    assert_eq!(key.expose(), SECRET);
    assert!(realtime_agent::serve::decode_webhook_secret(b"whsec_!!").is_none());
}

/// Unsigned, stale and wrongly signed webhooks are refused with 403 before anything happens.
#[tokio::test]
async fn webhooks_must_be_signed_fresh_and_with_the_secret() {
    let fake = FakeServer::start().await;
    let (rest, calls) = fake_rest().await;
    let server = sip_server("", &fake, rest).await;
    let body = incoming("rtc_refused");
    assert_eq!(post(&server, &body, None).await, 403);
    assert_eq!(post(&server, &body, Some((SECRET, now() - 600))).await, 403);
    assert_eq!(post(&server, &body, Some((SECRET, now() + 600))).await, 403);
    assert_eq!(
        post(&server, &body, Some((b"another-secret", now()))).await,
        403
    );
    // A body changed after signing.
    let mut headers = vec![("webhook-id", "wh_1".to_owned())];
    headers.push(("webhook-timestamp", now().to_string()));
    headers.push(("webhook-signature", sign(SECRET, "wh_1", now(), b"{}")));
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let tampered = http(server.addr, "POST", "/openai/webhook", &headers, &body).await;
    assert_eq!(tampered.status, 403);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(calls.lock().unwrap().is_empty(), "nothing was accepted");
    assert_eq!(fake.connection_count(), 0);
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await;
    assert!(
        metrics
            .body
            .contains("agent_errors_total{kind=\"webhook_refused\"} 5\n"),
        "{}",
        metrics.body
    );
    server.shutdown().await;
}

/// A signed `realtime.call.incoming` is accepted with agent.toml's session (tools included),
/// then the sideband socket opens with `call_id` and a tool round trip runs over it.
#[tokio::test]
async fn an_incoming_call_is_accepted_and_runs_its_tools_on_the_sideband() {
    let fake = FakeServer::start().await;
    let (rest, calls) = fake_rest().await;
    let mut server = sip_server(
        "[agent]\ninstructions = \"You answer the phone for Acme.\"\nvoice = \"marin\"\n\n\
         [[tools]]\nkind = \"hosted_mcp\"\nserver_label = \"docs\"\n\
         server_url = \"https://mcp.example.com/mcp\"\nrequire_approval = \"never\"\n",
        &fake,
        rest,
    )
    .await;
    assert_eq!(
        post(&server, &incoming("rtc_123"), Some((SECRET, now()))).await,
        200
    );
    let accepted = calls.lock().unwrap().clone();
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    let (path, session) = &accepted[0];
    assert_eq!(path, "/v1/realtime/calls/rtc_123/accept");
    assert_eq!(session["type"], "realtime");
    assert_eq!(session["model"], "gpt-realtime");
    assert_eq!(session["instructions"], "You answer the phone for Acme.");
    assert_eq!(session["audio"]["output"]["voice"], "marin");
    // The agent's functions, then the hosted MCP server, which the API calls itself.
    let tools: Vec<&str> = session["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().or(t["server_label"].as_str()).unwrap())
        .collect();
    assert_eq!(tools, ["order_status", "transfer_call", "hang_up", "docs"]);
    assert_eq!(
        session["tools"][3],
        json!({"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com/mcp",
               "require_approval": "never"})
    );

    fake.wait_until("the sideband socket", WAIT, |f| f.connection_count() == 1)
        .await;
    assert_eq!(fake.handshakes()[0].path, "/v1/realtime?call_id=rtc_123");
    fake.wait_until("session.update", WAIT, |f| {
        f.count_received("session.update") > 0
    })
    .await;
    fake.start_response(Reply::call("order_status", json!({"id": 42})));
    fake.wait_until("the tool output and the next response", WAIT, |f| {
        f.count_received("response.create") > 0
    })
    .await;
    let output = fake
        .received()
        .into_iter()
        .find_map(|r| match r.event {
            Some(ClientEvent::ConversationItemCreate(c)) => match c.item {
                Item::FunctionCallOutput(o) => Some(o.output),
                _ => None,
            },
            _ => None,
        })
        .expect("a function_call_output");
    assert_eq!(output, "order 42 shipped");
    let started = server
        .event(|e| match e {
            ServeEvent::CallStarted { call_id, .. } => Some(call_id.clone()),
            _ => None,
        })
        .await;
    assert_eq!(started, "rtc_123");
    fake.drop_connection();
    server.shutdown().await;
}

/// `transfer_call` posts a SIP REFER with the target; `hang_up` posts the hangup.
#[tokio::test]
async fn transfer_and_hang_up_control_the_call() {
    let fake = FakeServer::start().await;
    let (rest, calls) = fake_rest().await;
    let server = sip_server("", &fake, rest).await;
    assert_eq!(
        post(&server, &incoming("rtc_7"), Some((SECRET, now()))).await,
        200
    );
    fake.wait_until("session.update", WAIT, |f| {
        f.count_received("session.update") > 0
    })
    .await;
    fake.start_response(Reply::call(
        "transfer_call",
        json!({"target_uri": "tel:+15551234567"}),
    ));
    wait_for_rest(&calls, "the refer", |c| c.len() == 2).await;
    assert_eq!(
        calls.lock().unwrap()[1],
        (
            "/v1/realtime/calls/rtc_7/refer".to_owned(),
            json!({"target_uri": "tel:+15551234567"})
        )
    );
    fake.wait_until("the transfer's output", WAIT, |f| {
        f.count_received("response.create") > 0
    })
    .await;
    fake.start_response(Reply::call("hang_up", json!({})));
    wait_for_rest(&calls, "the hangup", |c| c.len() == 3).await;
    assert_eq!(
        calls.lock().unwrap()[2].0,
        "/v1/realtime/calls/rtc_7/hangup"
    );
    fake.drop_connection();
    server.shutdown().await;
}

/// At `max_sessions` an incoming call is rejected with 486 Busy Here.
#[tokio::test]
async fn calls_beyond_max_sessions_are_rejected() {
    let fake = FakeServer::start().await;
    let (rest, calls) = fake_rest().await;
    let server = sip_server("[serve]\nmax_sessions = 1\n", &fake, rest).await;
    assert_eq!(
        post(&server, &incoming("rtc_a"), Some((SECRET, now()))).await,
        200
    );
    assert_eq!(
        post(&server, &incoming("rtc_b"), Some((SECRET, now()))).await,
        200
    );
    let seen = calls.lock().unwrap().clone();
    assert_eq!(seen[0].0, "/v1/realtime/calls/rtc_a/accept");
    assert_eq!(
        seen[1],
        (
            "/v1/realtime/calls/rtc_b/reject".to_owned(),
            json!({"status_code": 486})
        )
    );
    fake.wait_until("the first call's socket", WAIT, |f| {
        f.connection_count() == 1
    })
    .await;
    fake.drop_connection();
    server.shutdown().await;
}
