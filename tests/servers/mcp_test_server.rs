//! The tests' own MCP server (stdio), built on rmcp's server side, for what public servers cannot
//! show on demand: a changed tool list, a crash, a hang, a cancelled call.
//!
//! Tools: `echo {text}`, `add {a, b}` (structured), `fail` (isError), `reject` (a protocol
//! error), `sleep {ms}` (honours
//! cancellation), `freeze` (blocks the whole server, pings included), `crash` (exits 3),
//! `grow` (adds the tool `extra` and sends `notifications/tools/list_changed`), `picture`
//! (an image), `env {name}` (a variable of its environment, or `(unset)`).
//!
//! `MCP_TEST_LOG` names a file where it appends one line per event (`started`, `call NAME`,
//! `cancelled NAME`), so tests can see what reached it. `MCP_TEST_FAIL_START=1` makes it exit
//! before the handshake; `MCP_TEST_SLOW_START_MS` makes it wait that long before it.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt as _};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct TestServer {
    grown: Arc<AtomicBool>,
}

fn log(line: &str) {
    if let Some(path) = std::env::var_os("MCP_TEST_LOG") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}

fn tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    let Value::Object(schema) = schema else {
        unreachable!("schemas are objects")
    };
    Tool::new(name, description, Arc::new(schema))
}

fn no_arguments() -> Value {
    json!({"type": "object", "properties": {}})
}

impl TestServer {
    fn tools(&self) -> Vec<Tool> {
        let mut tools = vec![
            tool(
                "echo",
                "Echoes the text back.",
                json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                       "properties": {"text": {"type": "string", "description": "What to echo."}},
                       "required": ["text"], "additionalProperties": false}),
            ),
            tool(
                "add",
                "Adds two numbers.",
                json!({"type": "object", "$defs": {"n": {"type": "number", "title": "A number"}},
                       "properties": {"a": {"$ref": "#/$defs/n"}, "b": {"$ref": "#/$defs/n"}},
                       "required": ["a", "b"]}),
            ),
            tool("fail", "Always fails.", no_arguments()),
            tool("reject", "Refused with a protocol error.", no_arguments()),
            tool(
                "sleep",
                "Sleeps, then answers.",
                json!({"type": "object", "properties": {"ms": {"type": "integer"}}, "required": ["ms"]}),
            ),
            tool("freeze", "Blocks the whole server.", no_arguments()),
            tool("crash", "Exits at once.", no_arguments()),
            tool("grow", "Adds the tool extra.", no_arguments()),
            tool("picture", "Returns an image.", no_arguments()),
            tool(
                "env",
                "A variable of the server's environment.",
                json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
            ),
        ];
        if self.grown.load(Ordering::SeqCst) {
            tools.push(tool("extra", "Only there after grow.", no_arguments()));
        }
        tools
    }
}

fn text(text: impl Into<String>) -> ContentBlock {
    ContentBlock::text(text)
}

impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new("mcp-test-server", "1.0.0"))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        log(&format!("call {} {arguments}", request.name));
        let result = match request.name.as_ref() {
            "echo" => CallToolResult::success(vec![text(format!(
                "echo: {}",
                arguments["text"].as_str().unwrap_or_default()
            ))]),
            "add" => {
                let sum =
                    arguments["a"].as_f64().unwrap_or(0.0) + arguments["b"].as_f64().unwrap_or(0.0);
                let mut result = CallToolResult::success(vec![text(format!("{sum}"))]);
                result.structured_content = Some(json!({"sum": sum}));
                result
            }
            "fail" => CallToolResult::error(vec![text("it failed on purpose")]),
            "reject" => {
                return Err(ErrorData::invalid_params(
                    "the server refuses this call",
                    None,
                ));
            }
            "sleep" => {
                let ms = arguments["ms"].as_u64().unwrap_or(0);
                tokio::select! {
                    _ = context.ct.cancelled() => {
                        log(&format!("cancelled {}", request.name));
                        return Err(ErrorData::internal_error("cancelled", None));
                    }
                    _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                }
                CallToolResult::success(vec![text(format!("slept {ms} ms"))])
            }
            "freeze" => {
                // Blocks the only thread: nothing, not even a ping, is answered any more.
                std::thread::sleep(Duration::from_secs(3600));
                CallToolResult::success(vec![])
            }
            "crash" => std::process::exit(3),
            "grow" => {
                self.grown.store(true, Ordering::SeqCst);
                let _ = context.peer.notify_tool_list_changed().await;
                CallToolResult::success(vec![text("grown")])
            }
            "picture" => CallToolResult::success(vec![
                text("here is a picture"),
                ContentBlock::image("iVBORw0KGgoAAAANSUhEUg==", "image/png"),
            ]),
            "env" => {
                let name = arguments["name"].as_str().unwrap_or_default();
                CallToolResult::success(vec![text(
                    std::env::var(name).unwrap_or_else(|_| "(unset)".to_owned()),
                )])
            }
            "extra" if self.grown.load(Ordering::SeqCst) => {
                CallToolResult::success(vec![text("extra here")])
            }
            other => {
                return Err(ErrorData::invalid_params(
                    format!("no tool named {other}"),
                    None,
                ));
            }
        };
        Ok(result.into())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::var_os("MCP_TEST_FAIL_START").is_some() {
        eprintln!("refusing to start: MCP_TEST_FAIL_START is set");
        std::process::exit(2);
    }
    if let Some(ms) = std::env::var("MCP_TEST_SLOW_START_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    log("started");
    let service = TestServer::default()
        .serve((tokio::io::stdin(), tokio::io::stdout()))
        .await
        .expect("the handshake succeeds");
    let _ = service.waiting().await;
}
