//! OpenTelemetry export (feature `otel`): the agent's `session`, `turn` and `tool_call` spans,
//! with the latency figures as attributes, sent over OTLP HTTP/protobuf.
//!
//! The agent always opens these [`tracing`] spans (at `INFO`, target `realtime_agent`); they
//! cost nothing when no subscriber wants them. [`OtlpExport`] turns them into OpenTelemetry
//! spans through a `tracing-opentelemetry` layer, batched and posted to the collector that the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` names (`/v1/traces` is appended), with this crate's
//! own HTTP client. The `agent` command exports when that variable is set.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt as _;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let export = realtime_agent::otel::OtlpExport::from_env("my-voice-app")?;
//! let subscriber = tracing_subscriber::registry().with(export.layer());
//! tracing::subscriber::set_global_default(subscriber)?;
//! // … run agents …
//! export.shutdown().await; // sends what is still batched
//! # Ok(()) }
//! ```
//!
//! | span | attributes |
//! |---|---|
//! | `session` | `model` |
//! | `turn` | `turn`, `trigger`, `response_created_ms`, `first_text_ms`, `first_audio_ms`, `first_audio_played_ms`, `total_ms`, `interrupted`, `tool_calls` |
//! | `tool_call` | `tool`, `call_id`, `status`, `duration_ms` |

use std::time::Duration;

use bytes::Bytes;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing_opentelemetry::OpenTelemetryLayer;

/// How long [`OtlpExport::shutdown`] waits for the last batch.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the export could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The exporter refused its configuration (e.g. a malformed endpoint in
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`). Retrying does not help; fix the setting.
    #[error("cannot set up the OpenTelemetry export: {0}")]
    Build(String),
    /// Not called inside a tokio runtime, which carries the export's requests.
    #[error("the OpenTelemetry export must be set up inside a tokio runtime")]
    NoRuntime,
}

/// A running OTLP export. Make a layer with [`layer`](Self::layer); end with
/// [`shutdown`](Self::shutdown) so that the last spans are sent.
#[derive(Debug)]
pub struct OtlpExport {
    provider: SdkTracerProvider,
}

impl OtlpExport {
    /// An export configured by the standard environment variables
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`), reporting as
    /// `service_name`. Call inside a tokio runtime.
    pub fn from_env(service_name: &str) -> Result<OtlpExport, OtelError> {
        Self::build(service_name, None)
    }

    /// An export to the collector at `endpoint` (the full traces URL, e.g.
    /// `http://127.0.0.1:4318/v1/traces`), whatever the environment says.
    pub fn to_endpoint(service_name: &str, endpoint: &str) -> Result<OtlpExport, OtelError> {
        Self::build(service_name, Some(endpoint))
    }

    fn build(service_name: &str, endpoint: Option<&str>) -> Result<OtlpExport, OtelError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| OtelError::NoRuntime)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured((*crate::transport::tls::client_config()).clone())
            .user_agent(concat!("realtime-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| OtelError::Build(format!("the HTTP client: {error}")))?;
        let client = ExportClient { client, runtime };
        let mut builder = SpanExporter::builder().with_http().with_http_client(client);
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let exporter = builder
            .build()
            .map_err(|error| OtelError::Build(error.to_string()))?;
        let provider = SdkTracerProvider::builder()
            .with_resource(
                Resource::builder()
                    .with_service_name(service_name.to_owned())
                    .build(),
            )
            .with_batch_exporter(exporter)
            .build();
        Ok(OtlpExport { provider })
    }

    /// A `tracing` layer that turns spans into OpenTelemetry spans for this export. Add it to
    /// a subscriber (`tracing_subscriber::registry().with(export.layer())`).
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, Tracer>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("realtime-agent"))
    }

    /// Sends what is still batched and stops (waiting at most 5 s). Failures are logged, not
    /// returned: telemetry never fails the program.
    pub async fn shutdown(self) {
        let provider = self.provider;
        // The batch's thread waits on requests that run on this runtime: wait off its threads.
        let outcome =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT))
                .await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the OpenTelemetry export did not finish"),
            Err(error) => tracing::warn!(%error, "the OpenTelemetry export did not finish"),
        }
    }
}

/// The export's HTTP client: this crate's reqwest, its requests run on the tokio runtime the
/// export was made in (the batch processor calls from a thread of its own, outside any runtime).
#[derive(Debug)]
struct ExportClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let mut builder = self
            .client
            .request(parts.method, parts.uri.to_string())
            .body(body);
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let task = self.runtime.spawn(async move {
            let response = builder.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        });
        let (status, body) = task.await??;
        let mut response = Response::new(body);
        *response.status_mut() = status;
        Ok(response)
    }
}
