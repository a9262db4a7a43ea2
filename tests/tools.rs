//! Tests of `realtime_agent::tool`: schemas, argument errors, the registry, closure tools, the
//! failure outputs, and the declared command and HTTP tools (against a server on 127.0.0.1).

#[path = "tools/arguments.rs"]
mod arguments;
#[path = "tools/command.rs"]
mod command;
#[path = "tools/declared_schema.rs"]
mod declared_schema;
#[path = "tools/http.rs"]
mod http;
#[path = "tools/http_server.rs"]
mod http_server;
#[path = "tools/output.rs"]
mod output;
#[path = "tools/registry.rs"]
mod registry;
#[path = "tools/schema.rs"]
mod schema;
#[path = "tools/short.rs"]
mod short;
