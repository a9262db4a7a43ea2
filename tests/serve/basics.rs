//! The server itself: `/healthz`, `/metrics` and who may read it, the drain on shutdown, and
//! `agent serve` as a program (SIGTERM).

use std::time::{Duration, Instant};

use realtime_agent::serve::Secret;
use realtime_agent::testing::FakeServer;

use super::support::{WAIT, http, options, start};
use super::twilio_sim::{MediaCall, Signing, stream_token, voice};

/// `/healthz` answers `ok`; `/metrics` is Prometheus text with every family.
#[tokio::test]
async fn health_and_metrics() {
    let fake = FakeServer::start().await;
    let server = start(options("", &fake)).await;
    let health = http(server.addr, "GET", "/healthz", &[], b"").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let metrics = http(server.addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for line in [
        "# TYPE agent_active_sessions gauge\n",
        "agent_active_sessions{channel=\"twilio\"} 0\n",
        "agent_active_sessions{channel=\"sip\"} 0\n",
        "agent_active_sessions{channel=\"browser\"} 0\n",
        "# TYPE agent_tool_call_duration_seconds histogram\n",
        "agent_audio_frames_dropped_total 0\n",
        "# TYPE agent_errors_total counter\n",
    ] {
        assert!(metrics.body.contains(line), "{line:?} in {}", metrics.body);
    }
    server.shutdown().await;
}

/// With a token configured, `/metrics` needs it as a bearer token, even on loopback.
#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let fake = FakeServer::start().await;
    let mut options = options("", &fake);
    options.browser_token = Some(Secret::new("metrics-token"));
    let server = start(options).await;
    let refused = http(server.addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(refused.status, 401);
    let wrong = http(
        server.addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer nope")],
        b"",
    )
    .await;
    assert_eq!(wrong.status, 401);
    let allowed = http(
        server.addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer metrics-token")],
        b"",
    )
    .await;
    assert_eq!(allowed.status, 200);
    server.shutdown().await;
}

/// On shutdown a live call may go on until `drain_timeout`, then it is ended: the media socket
/// closes and the server returns.
#[tokio::test]
async fn shutdown_drains_then_ends_live_calls() {
    let fake = FakeServer::start().await;
    let server = start(options("[serve]\ndrain_timeout = 1\n", &fake)).await;
    let addr = server.addr;
    let answer = voice(addr, "CA900", Signing::Valid).await;
    let mut call = MediaCall::connect(addr, "CA900", &stream_token(&answer.body)).await;
    fake.wait_until("the session", WAIT, |f| f.connection_count() == 1)
        .await;
    let began = Instant::now();
    let stopping = tokio::spawn(server.shutdown());
    // New connections are no longer accepted once shutdown began.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
    // The live call is not cut at once…
    assert!(fake.is_open(0), "the live call goes on while draining");
    // …but ends at the drain timeout.
    assert!(call.next().await.is_none(), "the media socket closes");
    let waited = began.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "ended after {waited:?}"
    );
    stopping.await.unwrap();
    fake.wait_until("the session closed", WAIT, |f| !f.is_open(0))
        .await;
}

/// `agent serve` as a program: it prints where it listens, answers `/healthz`, and on SIGTERM
/// stops and exits 0; its log names the call id of a refused webhook and never the secrets.
#[tokio::test]
async fn the_command_serves_until_sigterm() {
    use tokio::io::AsyncBufReadExt;
    let fake = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agent.toml"),
        "[serve]\npublic_url = \"https://agent.example.com\"\ntwilio_auth_token_env = \"TW_TOKEN\"\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent"))
        .args(["serve", "--listen", "127.0.0.1:0", "--url", &fake.url()])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("OPENAI_API_KEY")
        .env_remove("RUST_LOG")
        .env("OPENAI_API_KEY", "sk-test-key-never-logged")
        .env("TW_TOKEN", super::support::TWILIO_TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the agent binary starts");
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(WAIT, async {
        loop {
            let line = stderr.next_line().await.unwrap().expect("a listening line");
            if let Some(rest) = line.strip_prefix("agent serve: listening on http://") {
                return rest.parse::<std::net::SocketAddr>().unwrap();
            }
        }
    })
    .await
    .expect("the server starts");
    let health = http(addr, "GET", "/healthz", &[], b"").await;
    assert_eq!(health.status, 200);
    let refused = voice(addr, "CA777", Signing::WrongToken).await;
    assert_eq!(refused.status, 403);
    let answer = voice(addr, "CA778", Signing::Valid).await;
    let mut call = MediaCall::connect(addr, "CA778", &stream_token(&answer.body)).await;
    fake.wait_until("the call's session", WAIT, |f| {
        f.count_received("session.update") > 0
    })
    .await;
    call.stop().await;
    fake.wait_until("the call's end", WAIT, |f| !f.is_open(0))
        .await;
    let pid = child.id().expect("running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut log = String::new();
    while let Ok(Some(line)) = tokio::time::timeout(WAIT, stderr.next_line())
        .await
        .unwrap()
    {
        log.push_str(&line);
        log.push('\n');
    }
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("agent serve: stopped"), "{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        log.contains("call_id=CA778"),
        "the call's log lines carry its id: {log}"
    );
    assert!(!log.contains("never-logged"), "the key was logged: {log}");
    assert!(
        !log.contains(super::support::TWILIO_TOKEN),
        "the auth token was logged: {log}"
    );
}
