//! `kind = "http"`: a declared tool that calls an HTTP endpoint, only ever on its declared host.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::bounded::bounded_text;
use super::command::unknown_placeholder;
use super::template::{Template, verbatim};
use super::{CommonSpec, Declared, SpecError, no_parameters};
use crate::protocol::FunctionDefinition;
use crate::tool::{DynTool, OnInterrupt, ToolContext, ToolError, ToolOptions};

/// The most response body sent to the model, unless `max_response_bytes` says otherwise.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024;
/// The most of an error response's body sent to the model.
const MAX_ERROR_BODY_BYTES: usize = 4 * 1024;
/// Redirects followed (on the same origin) before giving up.
const MAX_REDIRECTS: usize = 5;

/// An HTTP method a declared tool may use. `GET` and `DELETE` send no body; `POST`, `PUT` and
/// `PATCH` send the arguments as a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum HttpMethod {
    /// `GET` (the default).
    #[default]
    #[serde(rename = "GET", alias = "get")]
    Get,
    /// `POST`.
    #[serde(rename = "POST", alias = "post")]
    Post,
    /// `PUT`.
    #[serde(rename = "PUT", alias = "put")]
    Put,
    /// `PATCH`.
    #[serde(rename = "PATCH", alias = "patch")]
    Patch,
    /// `DELETE`.
    #[serde(rename = "DELETE", alias = "delete")]
    Delete,
}

impl HttpMethod {
    fn as_reqwest(self) -> reqwest::Method {
        match self {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        }
    }

    fn has_body(self) -> bool {
        matches!(self, HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch)
    }
}

/// A `kind = "http"` entry of `agent.toml`.
///
/// `url` is a template: `{param}` is replaced by the argument, percent-encoded (an absent
/// optional argument by nothing). Placeholders may appear only after the host: the scheme, host
/// and port are always the declared ones, and a redirect to another origin is refused. Header
/// values may hold `${ENV_VAR}`, read from the environment at each call (for secrets; a missing
/// variable is an error naming it, never showing a value). `POST`, `PUT` and `PATCH` send the
/// arguments as a JSON body. The response body, cut to `max_response_bytes`, is the result; a
/// non-2xx status is an error with the status and the start of the body.
///
/// Only the scheme, host and port are fixed: below them, the arguments choose the path, and a
/// value of `..` filling a path segment climbs one level, as URLs do.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpToolSpec {
    /// The function name (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// What the tool does, for the model.
    #[serde(default)]
    pub description: String,
    /// The arguments' JSON Schema; `{"type":"object","properties":{}}` when absent.
    #[serde(default = "no_parameters")]
    pub parameters: Value,
    /// Seconds a call may run (default 30).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Ask the user before each call.
    #[serde(default)]
    pub confirm: bool,
    /// What a barge-in does to a running call.
    #[serde(default)]
    pub on_interrupt: OnInterrupt,
    /// Milliseconds a call may run before the assistant says a short filler ("one moment");
    /// none by default.
    #[serde(default)]
    pub filler_after_ms: Option<u64>,
    /// The method (default `GET`).
    #[serde(default)]
    pub method: HttpMethod,
    /// The URL template, e.g. `https://api.example.com/v1/weather?city={city}`.
    pub url: String,
    /// Request headers; values may hold `${ENV_VAR}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The most response bytes sent to the model (default 16 KiB); the rest is never read.
    #[serde(default)]
    pub max_response_bytes: Option<usize>,
}

/// Why an HTTP tool's call failed; the model sees the `Display` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// A header refers to an environment variable that is not set.
    #[error("environment variable {variable} (used in header {header:?}) is not set")]
    MissingEnv {
        /// The variable's name.
        variable: String,
        /// The header that uses it.
        header: String,
    },
    /// A header's value, once expanded, is not a valid header value. The value is not shown:
    /// it may hold a secret.
    #[error("header {header:?} is not a valid header value once its variables are expanded")]
    InvalidHeader {
        /// The header's name.
        header: String,
    },
    /// The URL built from the arguments is not a valid URL.
    #[error("the URL built from the arguments is invalid: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The URL built from the arguments points at another origin than the declared one.
    #[error("refused: this tool may only reach {allowed}, not {requested}")]
    OriginChanged {
        /// The declared scheme, host and port.
        allowed: String,
        /// Where the arguments pointed.
        requested: String,
    },
    /// The request could not be made or the response not read (connection, TLS, redirect).
    #[error("the HTTP request failed: {reason}")]
    Request {
        /// The cause, without the URL.
        reason: String,
    },
    /// The server answered with a non-2xx status.
    #[error("{}", status_message(*.status, .reason, .body))]
    Status {
        /// The status code.
        status: u16,
        /// Its reason phrase, e.g. `Not Found`.
        reason: String,
        /// The start of the response body.
        body: String,
    },
}

fn status_message(status: u16, reason: &str, body: &str) -> String {
    match body.trim() {
        "" => format!("HTTP {status} {reason} (empty body)"),
        body => format!("HTTP {status} {reason}: {body}"),
    }
}

impl HttpError {
    /// The request error with its causes, without the URL.
    fn request(error: reqwest::Error) -> Self {
        let error = error.without_url();
        let mut reason = error.to_string();
        let mut next = std::error::Error::source(&error);
        while let Some(cause) = next {
            let text = cause.to_string();
            if !reason.ends_with(&text) {
                reason.push_str(": ");
                reason.push_str(&text);
            }
            next = cause.source();
        }
        HttpError::Request { reason }
    }
}

/// Where an environment variable's value comes from: the process environment by default.
type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A header value with `${ENV_VAR}` references.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HeaderPart {
    Literal(String),
    Env(String),
}

fn parse_header_value(text: &str) -> Result<Vec<HeaderPart>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            parts.push(HeaderPart::Literal(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("unclosed `${` (write `${NAME}` for an environment variable)".to_owned());
        };
        let name = &after[..end];
        let valid = crate::secret::is_env_var_name(name);
        if !valid {
            return Err(format!(
                "`${{{name}}}` is not an environment variable name (letters, digits and `_`, \
                 not starting with a digit)"
            ));
        }
        parts.push(HeaderPart::Env(name.to_owned()));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(HeaderPart::Literal(rest.to_owned()));
    }
    Ok(parts)
}

/// A declared tool that calls an HTTP endpoint (see [`HttpToolSpec`]).
#[derive(Clone)]
pub struct HttpTool {
    declared: Declared,
    method: HttpMethod,
    url: Template,
    origin: url::Origin,
    headers: Vec<(HeaderName, Vec<HeaderPart>)>,
    max_response_bytes: usize,
    client: reqwest::Client,
    env: EnvLookup,
}

impl std::fmt::Debug for HttpTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTool")
            .field("name", &self.declared.name())
            .field("method", &self.method)
            .field("url", &self.url)
            // Names only: a literal header value may be a secret too.
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl HttpTool {
    /// Checks the declaration (schema, URL, headers, options) and builds the tool, with its own
    /// HTTP client (rustls with the ring provider and the webpki roots; no global state).
    pub fn new(spec: HttpToolSpec) -> Result<Self, SpecError> {
        let declared = Declared::new(CommonSpec {
            name: &spec.name,
            description: &spec.description,
            parameters: &spec.parameters,
            timeout: spec.timeout,
            confirm: spec.confirm,
            on_interrupt: spec.on_interrupt,
            filler_after_ms: spec.filler_after_ms,
        })?;
        let fail = |key: &str, message: String| SpecError::new(&spec.name, key, message);
        let url = Template::parse(&spec.url).map_err(|message| fail("url", message))?;
        if let Some(unknown) = url
            .placeholders()
            .find(|name| !declared.schema.has_property(name))
        {
            return Err(fail("url", unknown_placeholder(unknown, &declared)));
        }
        let origin = declared_origin(&url).map_err(|message| fail("url", message))?;
        let mut headers = Vec::with_capacity(spec.headers.len());
        for (name, value) in &spec.headers {
            let key = format!("headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| fail(&key, format!("{name:?} is not a valid header name")))?;
            let parts = parse_header_value(value).map_err(|message| fail(&key, message))?;
            headers.push((header, parts));
        }
        let max_response_bytes = match spec.max_response_bytes {
            None => DEFAULT_MAX_RESPONSE_BYTES,
            Some(0) => {
                return Err(fail(
                    "max_response_bytes",
                    "must be at least 1 (the response body is the tool's result)".to_owned(),
                ));
            }
            Some(bytes) => bytes,
        };
        let client = build_client().map_err(|message| fail("url", message))?;
        Ok(HttpTool {
            declared,
            method: spec.method,
            url,
            origin,
            headers,
            max_response_bytes,
            client,
            env: Arc::new(|name| std::env::var(name).ok()),
        })
    }

    /// Reads `${ENV_VAR}` values through `lookup` instead of the process environment (for
    /// tests, or secrets kept elsewhere).
    pub fn with_env(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Arc::new(lookup);
        self
    }

    /// The environment variables the headers use that are not set now, for `agent check`.
    pub fn missing_env_vars(&self) -> Vec<String> {
        let mut missing: Vec<String> = self
            .headers
            .iter()
            .flat_map(|(_, parts)| parts)
            .filter_map(|part| match part {
                HeaderPart::Env(name) if (self.env)(name).is_none() => Some(name.clone()),
                _ => None,
            })
            .collect();
        missing.dedup();
        missing
    }

    /// The URL for these validated arguments, on the declared origin.
    fn url_for(&self, arguments: &Map<String, Value>) -> Result<url::Url, HttpError> {
        let text = self.url.render_or_empty(arguments, percent_encode);
        let url = url::Url::parse(&text).map_err(|error| HttpError::InvalidUrl {
            reason: error.to_string(),
        })?;
        // Placeholders cannot reach the authority (checked when the tool was built) and their
        // values are percent-encoded; this check holds even if either ever fails.
        if url.origin() != self.origin {
            return Err(HttpError::OriginChanged {
                allowed: self.origin.ascii_serialization(),
                requested: url.origin().ascii_serialization(),
            });
        }
        Ok(url)
    }

    fn header_values(&self) -> Result<reqwest::header::HeaderMap, HttpError> {
        let mut map = reqwest::header::HeaderMap::with_capacity(self.headers.len());
        for (name, parts) in &self.headers {
            let mut text = String::new();
            let mut secret = false;
            for part in parts {
                match part {
                    HeaderPart::Literal(literal) => text.push_str(literal),
                    HeaderPart::Env(variable) => {
                        let value = (self.env)(variable).ok_or_else(|| HttpError::MissingEnv {
                            variable: variable.clone(),
                            header: name.to_string(),
                        })?;
                        text.push_str(&value);
                        secret = true;
                    }
                }
            }
            let mut value = HeaderValue::from_str(&text).map_err(|_| HttpError::InvalidHeader {
                header: name.to_string(),
            })?;
            value.set_sensitive(secret);
            map.append(name.clone(), value);
        }
        Ok(map)
    }

    async fn send(&self, arguments: Map<String, Value>) -> Result<String, HttpError> {
        let url = self.url_for(&arguments)?;
        let mut request = self
            .client
            .request(self.method.as_reqwest(), url)
            .headers(self.header_values()?);
        if self.method.has_body() {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(Value::Object(arguments).to_string());
        }
        let mut response = request.send().await.map_err(HttpError::request)?;
        let status = response.status();
        if !status.is_success() {
            let (body, cut) = read_body(&mut response, MAX_ERROR_BODY_BYTES).await?;
            return Err(HttpError::Status {
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_owned(),
                body: bounded_text(&body, cut, MAX_ERROR_BODY_BYTES, "body"),
            });
        }
        let (body, cut) = read_body(&mut response, self.max_response_bytes).await?;
        Ok(bounded_text(
            &body,
            cut,
            self.max_response_bytes,
            "response",
        ))
    }
}

/// The scheme, host and port of a URL template, which must be written out in full.
fn declared_origin(url: &Template) -> Result<url::Origin, String> {
    let prefix = url.literal_prefix();
    let has_placeholders = url.placeholders().next().is_some();
    let Some(scheme_end) = prefix.find("://") else {
        return Err("the URL must start with `http://` or `https://` and a host".to_owned());
    };
    let authority_written_out = prefix[scheme_end + 3..].contains(['/', '?', '#']);
    if has_placeholders && !authority_written_out {
        return Err(
            "a placeholder cannot be part of the scheme, host or port: write them out \
             (e.g. `https://api.example.com/{path}`) so the model cannot choose the server"
                .to_owned(),
        );
    }
    let example = url::Url::parse(&url.render_or_empty(&Map::new(), verbatim))
        .map_err(|error| format!("not a valid URL: {error}"))?;
    if !matches!(example.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {:?}",
            example.scheme()
        ));
    }
    if example.host().is_none() {
        return Err("the URL has no host".to_owned());
    }
    Ok(example.origin())
}

/// Percent-encodes everything but the unreserved characters, so a value stays inside the part
/// of the URL its placeholder is in (`/`, `?`, `#`, `@`, `:` and `%` are all encoded).
fn percent_encode(text: &str) -> Cow<'_, str> {
    let unreserved =
        |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
    if text.bytes().all(unreserved) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Cow::Owned(out)
}

/// At most `limit` bytes of the body, and whether there was more. The rest is never read.
async fn read_body(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), HttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(HttpError::request)? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A client with its own rustls configuration (ring provider, webpki roots), following
/// redirects only on the same origin.
fn build_client() -> Result<reqwest::Client, String> {
    // The same TLS setup as the WebSocket (ring, Mozilla roots, no global provider).
    let tls = (*crate::transport::tls::client_config()).clone();
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(url::Url::origin);
        if first.is_some_and(|origin| origin != attempt.url().origin()) {
            let target = attempt.url().origin().ascii_serialization();
            attempt.error(format!("a redirect to {target} was refused (another host)"))
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(redirects)
        .user_agent(concat!("realtime-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| format!("the HTTP client could not be built: {error}"))
}

#[async_trait]
impl DynTool for HttpTool {
    fn name(&self) -> &str {
        self.declared.name()
    }

    fn definition(&self) -> FunctionDefinition {
        self.declared.definition.clone()
    }

    fn options(&self) -> ToolOptions {
        self.declared.options
    }

    async fn call_json(&self, arguments: &str, ctx: ToolContext) -> Result<String, ToolError> {
        let arguments = self.declared.arguments(arguments)?;
        tracing::debug!(
            tool = self.declared.name(),
            method = ?self.method,
            call_id = ctx.call_id(),
            "calling HTTP tool"
        );
        tokio::select! {
            biased;
            () = ctx.cancelled() => Err(ToolError::Cancelled),
            result = self.send(arguments) => result.map_err(ToolError::failed),
        }
    }
}
