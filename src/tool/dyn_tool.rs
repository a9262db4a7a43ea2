//! The object-safe form every tool takes in the registry and the agent loop.

use std::time::Duration;

use async_trait::async_trait;

use super::{ToolContext, ToolError};
use crate::protocol::FunctionDefinition;

/// How long a call may run before the agent loop gives up on it, unless the tool says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What happens to a running call when the user barges in.
///
/// Either way the call gets a `function_call_output`, because the API rejects the next response
/// while a call is left without one.
///
/// In `agent.toml` it is written `on_interrupt = "keep"` or `"cancel"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnInterrupt {
    /// The call finishes and its output is posted, without forcing a new response over the
    /// user's turn. The default: most tools are quick lookups whose result is still useful.
    #[default]
    Keep,
    /// The call is cancelled through its token; its output says it was cancelled. For tools whose
    /// effect the user may no longer want (playing music, sending a message).
    Cancel,
}

/// How the agent loop runs a tool: the settings that are not part of the API's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ToolOptions {
    /// The longest a call may run; past it the model is told the call timed out.
    pub timeout: Duration,
    /// What a barge-in does to a running call.
    pub on_interrupt: OnInterrupt,
    /// Whether the user must approve each call before it runs.
    pub requires_approval: bool,
    /// When a call has run this long, the assistant says a short filler ("one moment, I'm
    /// checking") while it goes on; `None` (the default) keeps silent.
    pub filler_after: Option<Duration>,
}

impl Default for ToolOptions {
    fn default() -> Self {
        ToolOptions {
            timeout: DEFAULT_TIMEOUT,
            on_interrupt: OnInterrupt::Keep,
            requires_approval: false,
            filler_after: None,
        }
    }
}

/// A tool in erased form: its definition, its options and a call on JSON text.
///
/// Every [`Tool`](crate::tool::Tool) is a `DynTool` through a blanket impl; tools declared in
/// `agent.toml` ([`CommandTool`](crate::tool::CommandTool), [`HttpTool`](crate::tool::HttpTool))
/// implement it directly with their declared schema.
#[async_trait]
pub trait DynTool: Send + Sync {
    /// The function name the model calls.
    fn name(&self) -> &str;

    /// The definition sent in the session's `tools` array.
    fn definition(&self) -> FunctionDefinition;

    /// How the agent loop runs this tool.
    fn options(&self) -> ToolOptions {
        ToolOptions::default()
    }

    /// Runs the tool on the model's `arguments` (a JSON text) and returns the text for the
    /// `function_call_output`. Arguments that are not JSON or do not match the schema give
    /// [`ToolError::InvalidArguments`] naming the field, and the tool does not run.
    async fn call_json(&self, arguments: &str, ctx: ToolContext) -> Result<String, ToolError>;
}

impl std::fmt::Debug for dyn DynTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynTool")
            .field("name", &self.name())
            .field("options", &self.options())
            .finish_non_exhaustive()
    }
}
