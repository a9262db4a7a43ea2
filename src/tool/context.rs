//! What a running tool call knows about itself: its call id, its cancellation token, its session.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::protocol::Dialect;
use crate::secret::ApiKey;

/// Facts about the session a tool call belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The server's session id (`sess_…`), once `session.created` has been seen.
    pub session_id: Option<String>,
    /// The model the session runs, e.g. `gpt-realtime`.
    pub model: String,
    /// The wire dialect of the session.
    pub dialect: Dialect,
}

impl SessionInfo {
    /// Session info for `model` spoken in `dialect`, with no session id yet.
    pub fn new(model: impl Into<String>, dialect: Dialect) -> Self {
        SessionInfo {
            session_id: None,
            model: model.into(),
            dialect,
        }
    }

    /// The same info with the server's session id set.
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }
}

/// The context handed to every tool call. Cheap to clone (two `Arc`s and a token).
///
/// A tool that runs for long should watch [`cancelled`](ToolContext::cancelled): the agent loop
/// cancels the token on barge-in (for tools set to
/// [`OnInterrupt::Cancel`](crate::tool::OnInterrupt::Cancel)) and when the session closes.
#[derive(Debug, Clone)]
pub struct ToolContext {
    call_id: Arc<str>,
    cancellation: CancellationToken,
    session: Arc<SessionInfo>,
    /// Secrets no program the tool starts may see (see [`ChildEnv::withhold_from`]).
    ///
    /// [`ChildEnv::withhold_from`]: crate::tool::ChildEnv::withhold_from
    withheld: Arc<[ApiKey]>,
}

impl ToolContext {
    /// A context for the call `call_id`, cancelled through `cancellation`, in `session`.
    pub fn new(
        call_id: impl Into<Arc<str>>,
        cancellation: CancellationToken,
        session: Arc<SessionInfo>,
    ) -> Self {
        ToolContext {
            call_id: call_id.into(),
            cancellation,
            session,
            withheld: Arc::from([]),
        }
    }

    /// The same context, with `secrets` (the key the agent connects with) withheld from any
    /// program the tool starts through a [`ChildEnv`](crate::tool::ChildEnv). The agent loop
    /// sets this; a tool cannot read them back.
    pub fn with_withheld_secrets(mut self, secrets: impl Into<Arc<[ApiKey]>>) -> Self {
        self.withheld = secrets.into();
        self
    }

    pub(crate) fn withheld_secrets(&self) -> &[ApiKey] {
        &self.withheld
    }

    /// A context outside any session, with a fresh token: for calling a tool directly, e.g. in
    /// the tool's own tests.
    pub fn standalone(call_id: impl Into<Arc<str>>) -> Self {
        ToolContext::new(
            call_id,
            CancellationToken::new(),
            Arc::new(SessionInfo::default()),
        )
    }

    /// The id the model gave this call (`call_…`); its output must carry the same id.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The token that is cancelled when this call should stop.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// Whether the call has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// Completes when the call is cancelled; cancel-safe, for `tokio::select!`.
    pub async fn cancelled(&self) {
        self.cancellation.cancelled().await;
    }

    /// The session this call belongs to.
    pub fn session(&self) -> &SessionInfo {
        &self.session
    }
}
