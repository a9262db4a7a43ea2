//! OpenTelemetry export (feature `otel`): `agent` with `OTEL_EXPORTER_OTLP_ENDPOINT` posts its
//! spans as OTLP HTTP/protobuf to a collector stub on 127.0.0.1, which decodes them.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::support::{Scratch, package_dir};

/// One request the collector received.
struct Export {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// A minimal OTLP/HTTP collector: answers every POST with 200 and hands its body over.
async fn collector() -> (String, mpsc::UnboundedReceiver<Export>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let mut request_line = String::new();
                    if read.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    let mut headers = HashMap::new();
                    loop {
                        let mut line = String::new();
                        read.read_line(&mut line).await.unwrap();
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            headers
                                .insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                        }
                    }
                    let length: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    read.read_exact(&mut body).await.unwrap();
                    // Handed over before the answer: the agent cannot have exited without it.
                    let _ = tx.send(Export {
                        path,
                        content_type: headers.remove("content-type").unwrap_or_default(),
                        body,
                    });
                    write
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
                        )
                        .await
                        .unwrap();
                }
            });
        }
    });
    (url, rx)
}

fn attribute<'a>(span: &'a Span, key: &str) -> &'a Value {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
        .unwrap_or_else(|| panic!("span {} has no attribute {key}: {span:#?}", span.name))
}

fn double(span: &Span, key: &str) -> f64 {
    match attribute(span, key) {
        Value::DoubleValue(value) => *value,
        other => panic!("{key} is not a double: {other:?}"),
    }
}

/// A text turn in which the simulated model calls the shipped calculator: the collector gets a
/// `session` span, a `turn` span under it with the latency figures, and a `tool_call` span
/// under that with the tool's name, status and duration.
#[tokio::test]
async fn spans_with_the_figures_reach_an_otlp_collector() {
    let (endpoint, mut exports) = collector().await;
    let scratch = Scratch::new();
    let config = package_dir().join("agent.toml");
    let run = scratch
        .run(
            &["--sim", "--text", "--config", config.to_str().unwrap()],
            "calculate (2+3)*4\n",
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");

    let mut spans: Vec<Span> = Vec::new();
    let mut service_names = Vec::new();
    while let Ok(export) = exports.try_recv() {
        assert_eq!(export.path, "/v1/traces");
        assert_eq!(export.content_type, "application/x-protobuf");
        let request = ExportTraceServiceRequest::decode(export.body.as_slice()).unwrap();
        for resource in request.resource_spans {
            for kv in resource.resource.iter().flat_map(|r| r.attributes.iter()) {
                if kv.key == "service.name" {
                    service_names.push(format!("{:?}", kv.value.as_ref().unwrap().value));
                }
            }
            spans.extend(resource.scope_spans.into_iter().flat_map(|s| s.spans));
        }
    }
    assert!(
        service_names.iter().all(|n| n.contains("\"agent\"")) && !service_names.is_empty(),
        "{service_names:?}"
    );
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    let (sessions, turns, calls) = (named("session"), named("turn"), named("tool_call"));
    assert_eq!(
        (sessions.len(), turns.len(), calls.len()),
        (1, 1, 1),
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let (session, turn, call) = (sessions[0], turns[0], calls[0]);
    assert_eq!(turn.parent_span_id, session.span_id);
    assert_eq!(call.parent_span_id, turn.span_id);
    assert_eq!(turn.trace_id, session.trace_id);

    assert_eq!(
        attribute(session, "model"),
        &Value::StringValue("gpt-realtime".into())
    );
    assert_eq!(attribute(turn, "turn"), &Value::IntValue(1));
    assert_eq!(
        attribute(turn, "trigger"),
        &Value::StringValue("text".into())
    );
    assert_eq!(attribute(turn, "interrupted"), &Value::BoolValue(false));
    assert_eq!(attribute(turn, "tool_calls"), &Value::IntValue(1));
    let created = double(turn, "response_created_ms");
    let first_text = double(turn, "first_text_ms");
    let total = double(turn, "total_ms");
    assert!(0.0 < created && created <= first_text && first_text <= total);
    assert_eq!(
        attribute(call, "tool"),
        &Value::StringValue("calculate".into())
    );
    assert_eq!(attribute(call, "status"), &Value::StringValue("Ok".into()));
    let duration = double(call, "duration_ms");
    assert!(0.0 < duration && duration < total, "{duration} of {total}");
}
