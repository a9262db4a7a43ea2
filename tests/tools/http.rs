//! HTTP tools against a local server: the exact request, env headers, bounded bodies, non-2xx,
//! and the declared host as the only one reachable.

use std::collections::HashMap;

use realtime_agent::tool::{DynTool, HttpError, HttpTool, HttpToolSpec, ToolContext, ToolError};

use crate::http_server::{Reply, TestServer};

fn spec(toml_text: &str) -> HttpToolSpec {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"))
}

fn tool(toml_text: &str) -> HttpTool {
    HttpTool::new(spec(toml_text)).unwrap_or_else(|e| panic!("{e}"))
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

async fn run(tool: &HttpTool, arguments: &str) -> Result<String, ToolError> {
    tool.call_json(arguments, ToolContext::standalone("call_1"))
        .await
}

async fn failure(tool: &HttpTool, arguments: &str) -> HttpError {
    match run(tool, arguments).await {
        Err(ToolError::Failed { source }) => source
            .downcast_ref::<HttpError>()
            .unwrap_or_else(|| panic!("not an HttpError: {source}"))
            .clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

const AGENT: &str = concat!("realtime-agent/", env!("CARGO_PKG_VERSION"));

/// A GET puts the percent-encoded arguments in the URL, sends the declared headers with `${VAR}`
/// expanded, and no body; the response body is the result.
#[tokio::test]
async fn get_request_is_exact() {
    let mut server = TestServer::start(|_| Reply::ok("Sunny, 21°C")).await;
    let tool = tool(&format!(
        r#"
        name = "weather"
        url = "{}/weather/{{city}}?unit={{unit}}&q={{q}}"
        headers = {{ Authorization = "Bearer ${{WEATHER_KEY}}", X-Client = "agent" }}
        [parameters]
        type = "object"
        properties.city = {{ type = "string" }}
        properties.unit = {{ type = "string" }}
        properties.q = {{ type = "string" }}
        "#,
        server.base()
    ))
    .with_env(env(&[("WEATHER_KEY", "s3cret")]));
    let output = run(&tool, r#"{"city":"São Paulo/x","q":"a&b=c#d %"}"#)
        .await
        .unwrap();
    assert_eq!(output, "Sunny, 21°C");
    let request = server.request().await;
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.target,
        "/weather/S%C3%A3o%20Paulo%2Fx?unit=&q=a%26b%3Dc%23d%20%25"
    );
    let host = server.addr.to_string();
    assert_eq!(
        request.headers,
        vec![
            ("authorization".to_owned(), "Bearer s3cret".to_owned()),
            ("x-client".to_owned(), "agent".to_owned()),
            ("accept".to_owned(), "*/*".to_owned()),
            ("user-agent".to_owned(), AGENT.to_owned()),
            ("host".to_owned(), host),
        ]
    );
    assert!(request.body.is_empty());
}

/// A POST sends the arguments as a JSON body, in the model's order.
#[tokio::test]
async fn post_sends_the_arguments_as_json() {
    let mut server = TestServer::start(|_| Reply::status(201, "Created", "{\"id\":7}")).await;
    let tool = tool(&format!(
        r#"
        name = "add_note"
        method = "POST"
        url = "{}/notes"
        [parameters]
        type = "object"
        properties.text = {{ type = "string" }}
        properties.pinned = {{ type = "boolean" }}
        "#,
        server.base()
    ));
    let output = run(&tool, r#"{ "text": "buy milk", "pinned": true }"#)
        .await
        .unwrap();
    assert_eq!(output, "{\"id\":7}");
    let request = server.request().await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/notes");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("content-length"), Some("33"));
    assert_eq!(
        String::from_utf8(request.body).unwrap(),
        r#"{"text":"buy milk","pinned":true}"#
    );
}

/// `DELETE` (like `GET`) sends no body.
#[tokio::test]
async fn delete_sends_no_body() {
    let mut server = TestServer::start(|_| Reply::ok("")).await;
    let tool = tool(&format!(
        "name = \"rm\"\nmethod = \"delete\"\nurl = \"{}/notes/{{id}}\"\nparameters = {{ type = \"object\", properties.id = {{ type = \"integer\" }} }}",
        server.base()
    ));
    assert_eq!(run(&tool, r#"{"id":42}"#).await.unwrap(), "");
    let request = server.request().await;
    assert_eq!(
        (request.method.as_str(), request.target.as_str()),
        ("DELETE", "/notes/42")
    );
    assert_eq!(request.header("content-type"), None);
    assert!(request.body.is_empty());
}

/// A missing variable is named, its header too; nothing is sent. An invalid expanded value is
/// reported without showing it.
#[tokio::test]
async fn env_problems_name_the_variable_not_the_value() {
    let mut server = TestServer::start(|_| Reply::ok("")).await;
    let declaration = format!(
        "name = \"w\"\nurl = \"{}/\"\nheaders = {{ X-Api-Key = \"${{WEATHER_KEY}}\" }}",
        server.base()
    );
    let missing = tool(&declaration).with_env(env(&[]));
    assert_eq!(missing.missing_env_vars(), ["WEATHER_KEY"]);
    let error = failure(&missing, "{}").await;
    assert_eq!(
        error.to_string(),
        "environment variable WEATHER_KEY (used in header \"x-api-key\") is not set"
    );
    let broken = tool(&declaration).with_env(env(&[("WEATHER_KEY", "line1\nsecret-part")]));
    assert!(broken.missing_env_vars().is_empty());
    let message = failure(&broken, "{}").await.to_string();
    assert_eq!(
        message,
        "header \"x-api-key\" is not a valid header value once its variables are expanded"
    );
    assert!(!format!("{broken:?}").contains("secret-part"));
    assert!(server.no_more_requests());
}

/// The body is cut to `max_response_bytes`; an endless body is not read past the bound.
#[tokio::test]
async fn response_is_cut_to_the_bound() {
    let big = "a".repeat(100_000);
    let server = TestServer::start(move |request| {
        if request.target == "/endless" {
            Reply::Endless
        } else {
            Reply::ok(&big)
        }
    })
    .await;
    let declaration = |path: &str| {
        format!(
            "name = \"big\"\nurl = \"{}{path}\"\nmax_response_bytes = 10",
            server.base()
        )
    };
    let sized = tool(&declaration("/big"));
    assert_eq!(
        run(&sized, "{}").await.unwrap(),
        "aaaaaaaaaa\n[response cut at 10 bytes]"
    );
    let endless = tool(&declaration("/endless"));
    assert_eq!(
        run(&endless, "{}").await.unwrap(),
        "zzzzzzzzzz\n[response cut at 10 bytes]"
    );
}

/// A non-2xx status is an error with the status and the body.
#[tokio::test]
async fn non_success_status_is_an_error() {
    let server = TestServer::start(|request| {
        if request.target == "/empty" {
            Reply::status(503, "Service Unavailable", "")
        } else {
            Reply::status(404, "Not Found", "no such city\n")
        }
    })
    .await;
    let with_body = tool(&format!("name = \"w\"\nurl = \"{}/w\"", server.base()));
    assert_eq!(
        failure(&with_body, "{}").await.to_string(),
        "HTTP 404 Not Found: no such city"
    );
    let without_body = tool(&format!("name = \"w\"\nurl = \"{}/empty\"", server.base()));
    assert_eq!(
        failure(&without_body, "{}").await,
        HttpError::Status {
            status: 503,
            reason: "Service Unavailable".into(),
            body: String::new(),
        }
    );
}

/// A value that looks like a host stays inside its path segment.
#[tokio::test]
async fn placeholder_cannot_change_the_host() {
    let mut server = TestServer::start(|_| Reply::ok("ok")).await;
    let tool = tool(&format!(
        "name = \"get\"\nurl = \"{}/{{path}}\"\nparameters = {{ type = \"object\", properties.path = {{ type = \"string\" }} }}",
        server.base()
    ));
    run(&tool, r#"{"path":"@evil.example:80/x?y#z"}"#)
        .await
        .unwrap();
    assert_eq!(
        server.request().await.target,
        "/%40evil.example%3A80%2Fx%3Fy%23z"
    );
}

/// A placeholder in the scheme, host or port is refused at load, as is a non-HTTP scheme.
#[test]
fn url_templates_must_write_out_the_origin() {
    let error = |url: &str| {
        HttpTool::new(spec(&format!(
            "name = \"t\"\nurl = \"{url}\"\nparameters = {{ type = \"object\", properties.host = {{ type = \"string\" }} }}"
        )))
        .unwrap_err()
        .to_string()
    };
    let placeholder_refused = "tool \"t\": `url`: a placeholder cannot be part of the scheme, host \
                               or port: write them out (e.g. `https://api.example.com/{path}`) so \
                               the model cannot choose the server";
    assert_eq!(error("http://{host}/x"), placeholder_refused);
    assert_eq!(error("http://api.{host}.com/x"), placeholder_refused);
    assert_eq!(error("http://127.0.0.1:80{host}"), placeholder_refused);
    assert_eq!(error("http://127.0.0.1:{host}/"), placeholder_refused);
    assert_eq!(
        error("ftp://example.com/{host}"),
        "tool \"t\": `url`: the scheme must be http or https, not \"ftp\""
    );
    assert_eq!(
        error("example.com/{host}"),
        "tool \"t\": `url`: the URL must start with `http://` or `https://` and a host"
    );
    assert_eq!(
        error("https://example.com/{hots}"),
        "tool \"t\": `url`: `{hots}` is not a declared parameter (parameters: host)"
    );
}

/// Redirects are followed on the declared origin and refused to any other.
#[tokio::test]
async fn redirects_stay_on_the_declared_origin() {
    let mut elsewhere = TestServer::start(|_| Reply::ok("elsewhere")).await;
    let other = elsewhere.base();
    let mut server = TestServer::start(move |request| match request.target.as_str() {
        "/moved" => Reply::redirect("/final"),
        "/final" => Reply::ok("arrived"),
        _ => Reply::redirect(&format!("{other}/steal")),
    })
    .await;
    let same = tool(&format!("name = \"r\"\nurl = \"{}/moved\"", server.base()));
    assert_eq!(run(&same, "{}").await.unwrap(), "arrived");
    assert_eq!(server.request().await.target, "/moved");
    assert_eq!(server.request().await.target, "/final");

    let away = tool(&format!("name = \"r\"\nurl = \"{}/away\"", server.base()));
    let message = failure(&away, "{}").await.to_string();
    assert!(
        message.starts_with("the HTTP request failed: ")
            && message.contains(&format!(
                "a redirect to {} was refused (another host)",
                elsewhere.base()
            )),
        "{message}"
    );
    assert_eq!(server.request().await.target, "/away");
    assert!(elsewhere.no_more_requests());
}

/// A server that is not there is a request failure the model can read.
#[tokio::test]
async fn unreachable_server_is_a_request_failure() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let tool = tool(&format!(
        "name = \"down\"\nurl = \"http://127.0.0.1:{port}/\""
    ));
    let message = failure(&tool, "{}").await.to_string();
    assert!(
        message.starts_with("the HTTP request failed: ") && message.contains("onnection refused"),
        "{message}"
    );
    assert!(!message.contains(&port.to_string()), "{message}");
}

/// Cancelling the token ends the call with `Cancelled`, even while the server streams.
#[tokio::test]
async fn cancel_ends_the_call() {
    let server = TestServer::start(|_| Reply::Endless).await;
    let tool = tool(&format!(
        "name = \"slow\"\nurl = \"{}/\"\nmax_response_bytes = 100000000",
        server.base()
    ));
    let ctx = ToolContext::standalone("call_1");
    let token = ctx.cancellation().clone();
    let (result, ()) = tokio::join!(tool.call_json("{}", ctx), async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        token.cancel();
    });
    assert!(matches!(result, Err(ToolError::Cancelled)), "{result:?}");
}
