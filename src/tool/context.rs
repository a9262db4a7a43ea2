//! What a running tool call knows about itself: its call id, its cancellation token, its session.

use std::sync::Arc;

use tokio::sync::mpsc;
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
    /// To the agent loop: progress and early answers. `None` outside a session.
    signals: Option<mpsc::Sender<ToolSignal>>,
}

/// What a running call tells the agent loop besides its output.
#[derive(Debug)]
pub(crate) enum ToolSignal {
    /// A progress note, to show (and, when `spoken`, to say as a filler).
    Progress {
        call_id: Arc<str>,
        message: String,
        spoken: bool,
    },
    /// The call's output for now; the real result follows when the call returns.
    AnswerNow { call_id: Arc<str>, output: String },
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
            signals: None,
        }
    }

    /// The same context, reporting progress and early answers to the agent loop.
    pub(crate) fn with_signals(mut self, signals: mpsc::Sender<ToolSignal>) -> Self {
        self.signals = Some(signals);
        self
    }

    /// Sends `signal` to the agent loop without waiting; false when there is no loop or its
    /// queue is full (a tool never blocks on reporting).
    fn signal(&self, signal: ToolSignal) -> bool {
        let Some(signals) = &self.signals else {
            return false;
        };
        match signals.try_send(signal) {
            Ok(()) => true,
            Err(error) => {
                tracing::debug!(call_id = %self.call_id, %error, "tool signal not delivered");
                false
            }
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

    /// Reports progress, e.g. `"downloaded 3 of 10"`: the agent reports it as
    /// [`AgentEvent::ToolProgress`](crate::agent::AgentEvent::ToolProgress) and the CLI shows it.
    /// Never waits; returns false when nobody can hear it (outside a session).
    pub fn progress(&self, message: impl Into<String>) -> bool {
        self.signal(ToolSignal::Progress {
            call_id: self.call_id.clone(),
            message: message.into(),
            spoken: false,
        })
    }

    /// Like [`progress`](Self::progress), and the assistant also says it in a short filler
    /// (an out-of-band response that does not enter the conversation) at the next moment
    /// nobody is speaking.
    pub fn progress_spoken(&self, message: impl Into<String>) -> bool {
        self.signal(ToolSignal::Progress {
            call_id: self.call_id.clone(),
            message: message.into(),
            spoken: true,
        })
    }

    /// Answers the call now with `output` (e.g. `"started; I'll report when it is done"`) and
    /// keeps running: a background tool. The model gets `output` as the call's output at once;
    /// what the call finally returns enters the conversation later, and the agent asks for a
    /// response about it at the next quiet moment (nobody speaking, no answer in progress).
    ///
    /// Only the first call counts. Returns false outside a session, where the call's return
    /// value stays its only output.
    pub fn answer_now(&self, output: impl Into<String>) -> bool {
        self.signal(ToolSignal::AnswerNow {
            call_id: self.call_id.clone(),
            output: output.into(),
        })
    }
}
