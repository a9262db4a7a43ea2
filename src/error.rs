//! The crate's error type.

/// Any error this crate returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An audio source or sink failed. See the inner error for whether retrying helps.
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
    /// A tool could not be registered (bad name, duplicate, unusable schema). Fix the tool or
    /// the configuration; retrying does not help.
    #[error(transparent)]
    ToolRegistry(#[from] crate::tool::RegistryError),
    /// The agents handing off to one another do not fit together (an unknown or duplicate
    /// name). Fix the agents; retrying does not help.
    #[error(transparent)]
    Handoff(#[from] crate::agent::HandoffError),
    /// A hosted MCP server cannot be used (the beta interface, an unset `authorization_env`,
    /// both or neither of URL and connector). Fix the configuration; retrying does not help.
    #[error(transparent)]
    HostedMcp(#[from] crate::agent::HostedMcpError),
    /// A tool declared in `agent.toml` is invalid. Fix the declaration; retrying does not help.
    #[error(transparent)]
    ToolSpec(#[from] crate::tool::SpecError),
    /// An MCP server's tools could not be registered (a name clash, an unusable schema). Fix the
    /// configuration; retrying does not help.
    #[cfg(feature = "mcp")]
    #[error(transparent)]
    Mcp(#[from] crate::mcp::McpError),
    /// The connection could not be opened. [`ConnectError::is_retryable`] says whether trying
    /// again can help.
    ///
    /// [`ConnectError::is_retryable`]: crate::transport::ConnectError::is_retryable
    #[error(transparent)]
    Connect(#[from] crate::transport::ConnectError),
    /// No API key for OpenAI's endpoint: none was given and the environment variable is not set.
    /// Set the variable or give a key ([`AgentBuilder::api_key`]); retrying does not help.
    ///
    /// [`AgentBuilder::api_key`]: crate::agent::AgentBuilder::api_key
    #[error(
        "no API key for {url}: {}, or give one with AgentBuilder::api_key (a local server, such as the fake server, needs none)",
        match variable {
            Some(variable) => format!("set the environment variable {variable}"),
            None => "the builder was told to use none (no_api_key)".to_owned(),
        }
    )]
    MissingApiKey {
        /// The endpoint, without its query.
        url: String,
        /// The variable the key was to come from; `None` after
        /// [`no_api_key`](crate::agent::AgentBuilder::no_api_key).
        variable: Option<String>,
    },
    /// The connection closed and reconnection is off. Starting a new session may help.
    #[error("the Realtime connection closed: {}", describe_close(.0))]
    Disconnected(crate::transport::CloseInfo),
    /// The connection dropped and every reconnection attempt failed. Retrying later may help if
    /// the cause (network, rate limit, outage) has passed.
    #[error(
        "lost the Realtime connection and could not reconnect after {attempts} attempts: {last}"
    )]
    ReconnectFailed {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: crate::transport::ConnectError,
    },
}

fn describe_close(info: &crate::transport::CloseInfo) -> String {
    match info.code {
        Some(code) if info.reason.is_empty() => format!("code {code}"),
        Some(code) => format!("code {code}, {}", info.reason),
        None => info.reason.clone(),
    }
}

/// Shorthand for `Result<T, realtime_agent::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static>() {}
        assert_bounds::<super::Error>();
    }
}
