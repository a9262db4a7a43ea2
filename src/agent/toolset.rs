//! Changing a running agent's tools: what a change is, and how it applies to the registry.
//!
//! The agent loop owns the registry. A change is applied there, as one step, to a copy of it;
//! the copy replaces the registry the calls are looked up in, and its definitions go out in one
//! `session.update` (and are what a reconnect sends), so what the model sees and what the agent
//! can run never differ.

use std::sync::Arc;

use crate::protocol::SessionConfig;
use crate::tool::{DynTool, RegistryError, ToolOverrides, ToolRegistry};

/// A change to a running agent's tools, applied as one step with one `session.update`
/// ([`AgentHandle::change_tools`](super::AgentHandle::change_tools)).
///
/// Removals apply first, then additions, so a tool can be replaced by a new one of the same name.
///
/// ```
/// use realtime_agent::agent::ToolChange;
/// use realtime_agent::tool::tool_fn_without_context;
///
/// let change = ToolChange::new()
///     .remove("get_weather")
///     .add(tool_fn_without_context("get_time", "The time", |_: ()| async {
///         Ok::<_, String>("noon")
///     }));
/// # let _ = change;
/// ```
#[derive(Default)]
#[must_use = "a ToolChange does nothing until passed to AgentHandle::change_tools"]
pub struct ToolChange {
    replace: Option<ToolRegistry>,
    remove: Vec<String>,
    add: Vec<(Arc<dyn DynTool>, ToolOverrides)>,
    session: Option<SessionConfig>,
}

impl std::fmt::Debug for ToolChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolChange")
            .field("replace", &self.replace.as_ref().map(ToolRegistry::names))
            .field("remove", &self.remove)
            .field(
                "add",
                &self.add.iter().map(|(t, _)| t.name()).collect::<Vec<_>>(),
            )
            .field("session", &self.session.is_some())
            .finish()
    }
}

impl ToolChange {
    /// A change that does nothing yet.
    pub fn new() -> Self {
        ToolChange::default()
    }

    /// A change that replaces every tool with `tools` (and their `tool_choice`).
    pub fn replace_all(tools: ToolRegistry) -> Self {
        ToolChange {
            replace: Some(tools),
            ..ToolChange::default()
        }
    }

    /// Adds `tool`.
    // A builder step that takes a tool, not arithmetic: `Add` would not fit.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, tool: impl DynTool + 'static) -> Self {
        self.add_shared(Arc::new(tool), ToolOverrides::default())
    }

    /// Adds `tool` with some of its options overridden.
    pub fn add_with(self, tool: impl DynTool + 'static, overrides: ToolOverrides) -> Self {
        self.add_shared(Arc::new(tool), overrides)
    }

    /// Adds an already shared tool with some of its options overridden.
    pub fn add_shared(mut self, tool: Arc<dyn DynTool>, overrides: ToolOverrides) -> Self {
        self.add.push((tool, overrides));
        self
    }

    /// Removes the tool called `name`. A call to it that the model was already generating gets
    /// an output saying it was removed.
    pub fn remove(mut self, name: impl Into<String>) -> Self {
        self.remove.push(name.into());
        self
    }

    /// Sends these other session settings (instructions, for a handoff) in the same
    /// `session.update`. Its `tools` and `tool_choice`, if set, are ignored: the change decides
    /// those.
    pub fn with_session(mut self, session: SessionConfig) -> Self {
        self.session = Some(session);
        self
    }

    /// Applies the change to a copy of `current`. Nothing changes when any part is refused.
    pub(crate) fn apply(self, current: &ToolRegistry) -> Result<Applied, RegistryError> {
        let replaced = self.replace.is_some();
        let mut registry = self.replace.unwrap_or_else(|| current.clone());
        for name in &self.remove {
            registry.remove(name)?;
        }
        for (tool, overrides) in self.add {
            registry.add_shared(tool, overrides)?;
        }
        let removed = current
            .names()
            .into_iter()
            .filter(|name| registry.get(name).is_none())
            .map(str::to_owned)
            .collect();
        let mut session = self.session.unwrap_or_default();
        session.tools = Some(registry.definitions());
        session.tool_choice = (replaced || registry.tool_choice() != current.tool_choice())
            .then(|| registry.tool_choice().clone());
        Ok(Applied {
            registry,
            removed,
            session,
        })
    }
}

/// A change applied: the new registry, the names it no longer has, and the `session.update`
/// that tells the model.
pub(crate) struct Applied {
    pub(crate) registry: ToolRegistry,
    pub(crate) removed: Vec<String>,
    pub(crate) session: SessionConfig,
}

/// Why a tool change was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolChangeError {
    /// The change was refused (a bad or duplicate name, a tool to remove that is not there, a
    /// forced `tool_choice` on a removed tool); nothing changed. Fix the change; retrying the
    /// same one does not help.
    #[error("the tool change was refused: {0}")]
    Refused(#[from] RegistryError),
    /// The agent is not running. Retrying does not help.
    #[error(transparent)]
    Stopped(#[from] super::AgentStopped),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ToolChoice;
    use crate::tool::tool_fn_without_context;

    fn echo(name: &str) -> impl DynTool + 'static {
        tool_fn_without_context(name.to_owned(), "echo", |_: ()| async move {
            Ok::<_, String>("echo")
        })
    }

    #[test]
    fn removals_then_additions_on_a_copy() {
        let mut current = ToolRegistry::new();
        current.add(echo("a")).unwrap().add(echo("b")).unwrap();
        let applied = ToolChange::new()
            .remove("a")
            .add(echo("c"))
            .add(echo("a"))
            .apply(&current)
            .unwrap();
        assert_eq!(applied.registry.names(), ["b", "c", "a"]);
        assert!(
            applied.removed.is_empty(),
            "a came back: {:?}",
            applied.removed
        );
        assert_eq!(current.names(), ["a", "b"], "the original is untouched");
        assert_eq!(applied.session.tools.as_ref().map(Vec::len), Some(3));
        assert_eq!(
            applied.session.tool_choice, None,
            "tool_choice did not change"
        );
    }

    #[test]
    fn a_refused_part_changes_nothing_and_says_why() {
        let mut current = ToolRegistry::new();
        current.add(echo("a")).unwrap();
        let error = ToolChange::new()
            .add(echo("b"))
            .remove("nope")
            .apply(&current)
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "there is no tool named \"nope\" to remove (registered: a)"
        );
        let error = ToolChange::new()
            .add(echo("a"))
            .apply(&current)
            .err()
            .unwrap();
        assert!(
            matches!(error, RegistryError::DuplicateName { .. }),
            "{error}"
        );
    }

    #[test]
    fn replacing_sends_the_new_tool_choice_and_lists_what_went() {
        let mut current = ToolRegistry::new();
        current.add(echo("a")).unwrap().add(echo("b")).unwrap();
        let mut next = ToolRegistry::new();
        next.add(echo("b")).unwrap();
        next.set_tool_choice(ToolChoice::Required).unwrap();
        let applied = ToolChange::replace_all(next).apply(&current).unwrap();
        assert_eq!(applied.removed, ["a"]);
        assert_eq!(applied.session.tool_choice, Some(ToolChoice::Required));
    }
}
