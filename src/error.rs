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
    /// A tool declared in `agent.toml` is invalid. Fix the declaration; retrying does not help.
    #[error(transparent)]
    ToolSpec(#[from] crate::tool::SpecError),
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
