//! MCP servers' tools end to end: config, listing, calls through the agent loop on the fake
//! server, failures, restarts, cancellation; against the tests' own server and real third-party
//! servers that .ci/run installs.

mod mcp {
    mod config;
    mod own_server;
    mod support;
    mod third_party;
}
