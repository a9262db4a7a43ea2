//! The handshake: what is sent, and the typed errors a user sees when it fails.

use std::time::Duration;

use realtime_agent::ApiKey;
use realtime_agent::protocol::Dialect;
use realtime_agent::testing::FakeServer;
use realtime_agent::transport::{ConnectError, ConnectOptions, connect};

const KEY: &str = "sk-test-planted-key-0123456789";

fn options(server: &FakeServer, dialect: Dialect) -> ConnectOptions {
    ConnectOptions {
        url: Some(server.url()),
        dialect,
        api_key: Some(ApiKey::new(KEY)),
        ..ConnectOptions::new("gpt-realtime")
    }
}

/// GA: bearer auth, `model` query parameter, no beta header.
#[tokio::test]
async fn ga_handshake_sends_bearer_and_model() {
    let server = FakeServer::start().await;
    let connection = connect(&options(&server, Dialect::Ga)).await.unwrap();
    let handshake = &server.handshakes()[0];
    assert_eq!(handshake.path, "/v1/realtime?model=gpt-realtime");
    assert_eq!(
        handshake.authorization.as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    assert!(!handshake.beta);
    assert_eq!(handshake.status, 101);
    connection.close().await;
}

/// Beta: the `OpenAI-Beta: realtime=v1` header, and the server answers in the beta dialect.
#[tokio::test]
async fn beta_handshake_sends_the_beta_header() {
    let server = FakeServer::start().await;
    let connection = connect(&options(&server, Dialect::Beta)).await.unwrap();
    assert!(server.handshakes()[0].beta);
    server.wait_for_connections(1, Duration::from_secs(5)).await;
    assert_eq!(server.dialect(), Dialect::Beta);
    connection.close().await;
}

/// Azure keys go in the `api-key` header, not `Authorization`.
#[tokio::test]
async fn azure_style_uses_the_api_key_header() {
    let server = FakeServer::start().await;
    let mut options = options(&server, Dialect::Ga);
    options.auth_style = realtime_agent::transport::AuthStyle::AzureApiKey;
    let connection = connect(&options).await.unwrap();
    let handshake = &server.handshakes()[0];
    assert_eq!(handshake.api_key.as_deref(), Some(KEY));
    assert_eq!(handshake.authorization, None);
    connection.close().await;
}

/// 401 becomes `Unauthorized`, which tells the user what to do and never shows the key.
#[tokio::test]
async fn refused_key_is_unauthorized_without_the_key() {
    let server = FakeServer::start().await;
    server.refuse_handshakes(401, None, 1);
    let err = connect(&options(&server, Dialect::Ga)).await.unwrap_err();
    assert!(
        matches!(err, ConnectError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("OPENAI_API_KEY") && text.contains("--sim"),
        "{text}"
    );
    assert!(!text.contains(KEY) && !format!("{err:?}").contains(KEY));
    assert!(!err.is_retryable());
}

/// 429 becomes `RateLimited` with the server's Retry-After.
#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let server = FakeServer::start().await;
    server.refuse_handshakes(429, Some(7), 1);
    let err = connect(&options(&server, Dialect::Ga)).await.unwrap_err();
    match &err {
        ConnectError::RateLimited {
            retry_after,
            message,
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(7)));
            assert_eq!(message.as_deref(), Some("Rate limit reached for requests."));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

/// 404 names the model; other statuses keep their code.
#[tokio::test]
async fn not_found_and_other_statuses() {
    let server = FakeServer::start().await;
    server.refuse_handshakes(404, None, 1);
    server.refuse_handshakes(503, None, 1);
    let err = connect(&options(&server, Dialect::Ga)).await.unwrap_err();
    assert!(
        matches!(&err, ConnectError::NotFound { model, .. } if model == "gpt-realtime"),
        "{err:?}"
    );
    let err = connect(&options(&server, Dialect::Ga)).await.unwrap_err();
    assert!(
        matches!(err, ConnectError::Http { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

/// Nothing listening: `Refused`, naming the address.
#[tokio::test]
async fn connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let options = ConnectOptions {
        url: Some(format!("ws://{addr}/v1/realtime")),
        ..ConnectOptions::new("m")
    };
    let err = connect(&options).await.unwrap_err();
    assert!(
        matches!(&err, ConnectError::Refused { addr: a } if a == &addr.to_string()),
        "{err:?}"
    );
}

/// A server that accepts TCP but never answers: `Timeout` after the connect timeout.
#[tokio::test]
async fn silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let options = ConnectOptions {
        url: Some(format!("ws://{addr}/v1/realtime")),
        connect_timeout: Duration::from_millis(300),
        ..ConnectOptions::new("m")
    };
    let err = connect(&options).await.unwrap_err();
    assert!(matches!(err, ConnectError::Timeout { .. }), "{err:?}");
}
