//! Why an MCP server could not be used: typed, with the server named, in words a user can act on.

/// An MCP server that could not be started, listed or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The program of a stdio server does not exist. Install it or fix `command`; retrying does
    /// not help.
    #[error("MCP server {server:?}: program {program:?} not found (is it installed and on PATH?)")]
    ProgramNotFound {
        /// The server's name.
        server: String,
        /// The program.
        program: String,
    },
    /// The program could not be started (not executable, no permission). Retrying does not help.
    #[error("MCP server {server:?}: cannot start {program:?}: {reason}")]
    SpawnFailed {
        /// The server's name.
        server: String,
        /// The program.
        program: String,
        /// The system's reason.
        reason: String,
    },
    /// The server started (or the URL answered) but the MCP handshake failed: it is not an MCP
    /// server, it exited, or it refused us. Retrying helps only if the server was briefly down.
    #[error("MCP server {server:?}: handshake failed: {reason}")]
    HandshakeFailed {
        /// The server's name.
        server: String,
        /// What went wrong, with the server's last words on stderr when it left some.
        reason: String,
    },
    /// The server did not finish the handshake or its tool listing in time. Retrying may help.
    #[error("MCP server {server:?}: no answer within {seconds}s ({during})")]
    Timeout {
        /// The server's name.
        server: String,
        /// The limit, in seconds.
        seconds: u64,
        /// What it was doing: `handshake` or `tools/list`.
        during: &'static str,
    },
    /// `tools/list` failed. Retrying may help.
    #[error("MCP server {server:?}: listing its tools failed: {reason}")]
    ListFailed {
        /// The server's name.
        server: String,
        /// The server's or the transport's error.
        reason: String,
    },
    /// A tool name the server offers is already taken by another tool. Set a `prefix` on the
    /// server, limit its `tools`, or rename the other tool; retrying does not help.
    #[error(
        "tool {name:?} of {server} collides with {other}; set `prefix` on the [[mcp]] entry, \
         limit its `tools`, or rename the other tool"
    )]
    NameCollision {
        /// The name the model would see.
        name: String,
        /// The MCP server offering it, with where it is declared.
        server: String,
        /// Where the other tool of that name comes from.
        other: String,
    },
    /// A tool the server offers cannot be given to the model (a bad name or schema). Retrying does
    /// not help.
    #[error("tool {name:?} of {server}: {reason}")]
    UnusableTool {
        /// The name the model would see.
        name: String,
        /// The MCP server offering it.
        server: String,
        /// What is wrong.
        reason: String,
    },
    /// The variable named by `bearer_token_env` is not set. Set it; retrying does not help.
    #[error("MCP server {server:?}: the variable {var} (bearer_token_env) is not set")]
    MissingToken {
        /// The server's name.
        server: String,
        /// The variable.
        var: String,
    },
    /// The server was stopped because the agent shut down.
    #[error("MCP server {server:?} was stopped")]
    Stopped {
        /// The server's name.
        server: String,
    },
}
