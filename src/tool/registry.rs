//! The registry: the tools of a session, their definitions for `session.update`, and lookup by
//! name for the agent loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::schema::check_function_parameters;
use super::{DynTool, OnInterrupt, RegistryError, ToolOptions};
use crate::protocol::{FunctionDefinition, ToolChoice, ToolDefinition};

/// The longest tool name the API accepts.
const MAX_NAME_LEN: usize = 64;

/// Options that override, for one registration, what the tool itself says.
///
/// `agent.toml` uses it to change the timeout or approval of a Rust tool without touching its code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "overrides do nothing until passed to a registration"]
pub struct ToolOverrides {
    /// Replaces the tool's timeout.
    pub timeout: Option<Duration>,
    /// Replaces the tool's barge-in behaviour.
    pub on_interrupt: Option<OnInterrupt>,
    /// Replaces whether the tool requires approval.
    pub requires_approval: Option<bool>,
    /// Replaces when a filler is said during a call.
    pub filler_after: Option<Duration>,
}

impl ToolOverrides {
    /// Overrides the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the barge-in behaviour.
    pub fn on_interrupt(mut self, on_interrupt: OnInterrupt) -> Self {
        self.on_interrupt = Some(on_interrupt);
        self
    }

    /// Overrides whether the tool requires approval.
    pub fn requires_approval(mut self, requires_approval: bool) -> Self {
        self.requires_approval = Some(requires_approval);
        self
    }

    /// `options` with these overrides applied.
    pub fn apply(self, options: ToolOptions) -> ToolOptions {
        ToolOptions {
            timeout: self.timeout.unwrap_or(options.timeout),
            on_interrupt: self.on_interrupt.unwrap_or(options.on_interrupt),
            requires_approval: self.requires_approval.unwrap_or(options.requires_approval),
            filler_after: self.filler_after.or(options.filler_after),
        }
    }
}

/// One registered tool: the tool, its definition (computed once) and its effective options.
#[derive(Clone)]
pub struct RegisteredTool {
    tool: Arc<dyn DynTool>,
    definition: FunctionDefinition,
    options: ToolOptions,
}

impl RegisteredTool {
    /// The tool, to run on its own task (`Arc::clone` it).
    pub fn tool(&self) -> &Arc<dyn DynTool> {
        &self.tool
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// The definition sent to the API.
    pub fn definition(&self) -> &FunctionDefinition {
        &self.definition
    }

    /// The options the agent loop applies: the tool's own, with the registration's overrides.
    pub fn options(&self) -> ToolOptions {
        self.options
    }
}

impl std::fmt::Debug for RegisteredTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredTool")
            .field("definition", &self.definition)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The tools of a session, in registration order, plus the `tool_choice`.
#[derive(Debug, Clone, Default)]
pub struct ToolRegistry {
    tools: Vec<RegisteredTool>,
    index: HashMap<String, usize>,
    tool_choice: ToolChoice,
}

impl ToolRegistry {
    /// An empty registry, `tool_choice` `auto`.
    pub fn new() -> Self {
        ToolRegistry::default()
    }

    /// Adds a tool. Refused when its name breaks the API's pattern, is taken, or its schema is
    /// not an inlined object schema.
    pub fn add(&mut self, tool: impl DynTool + 'static) -> Result<&mut Self, RegistryError> {
        self.add_shared(Arc::new(tool), ToolOverrides::default())
    }

    /// Adds a tool with some of its options overridden.
    pub fn add_with(
        &mut self,
        tool: impl DynTool + 'static,
        overrides: ToolOverrides,
    ) -> Result<&mut Self, RegistryError> {
        self.add_shared(Arc::new(tool), overrides)
    }

    /// Adds an already shared tool, with some of its options overridden.
    pub fn add_shared(
        &mut self,
        tool: Arc<dyn DynTool>,
        overrides: ToolOverrides,
    ) -> Result<&mut Self, RegistryError> {
        let definition = tool.definition();
        check_name(&definition.name)?;
        if self.index.contains_key(&definition.name) {
            return Err(RegistryError::DuplicateName {
                name: definition.name,
            });
        }
        check_function_parameters(&definition.parameters).map_err(|reason| {
            RegistryError::InvalidParameters {
                name: definition.name.clone(),
                reason,
            }
        })?;
        let options = overrides.apply(tool.options());
        self.index.insert(definition.name.clone(), self.tools.len());
        self.tools.push(RegisteredTool {
            tool,
            definition,
            options,
        });
        Ok(self)
    }

    /// Removes the tool called `name`, returning it; the others keep their order. A
    /// `tool_choice` that forced this tool is refused ([`RegistryError::UnknownToolChoice`]) and
    /// nothing is removed.
    pub fn remove(&mut self, name: &str) -> Result<RegisteredTool, RegistryError> {
        let Some(&position) = self.index.get(name) else {
            return Err(RegistryError::NotRegistered {
                name: name.to_owned(),
                available: self.names().join(", "),
            });
        };
        if matches!(&self.tool_choice, ToolChoice::Function(forced) if forced == name) {
            return Err(RegistryError::UnknownToolChoice {
                name: name.to_owned(),
                available: self
                    .names()
                    .into_iter()
                    .filter(|n| *n != name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let removed = self.tools.remove(position);
        self.index = self
            .tools
            .iter()
            .enumerate()
            .map(|(position, tool)| (tool.definition.name.clone(), position))
            .collect();
        Ok(removed)
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<&RegisteredTool> {
        self.index.get(name).map(|&position| &self.tools[position])
    }

    /// The registered tools, in registration order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &RegisteredTool> {
        self.tools.iter()
    }

    /// The registered names, in registration order.
    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(RegisteredTool::name).collect()
    }

    /// How many tools are registered.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The session's `tools` array, in registration order.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.tools
            .iter()
            .map(|registered| ToolDefinition::Function(registered.definition.clone()))
            .collect()
    }

    /// The session's `tool_choice`.
    pub fn tool_choice(&self) -> &ToolChoice {
        &self.tool_choice
    }

    /// Sets the `tool_choice`. Forcing a function requires it to be registered already.
    pub fn set_tool_choice(&mut self, choice: ToolChoice) -> Result<&mut Self, RegistryError> {
        if let ToolChoice::Function(name) = &choice
            && !self.index.contains_key(name)
        {
            return Err(RegistryError::UnknownToolChoice {
                name: name.clone(),
                available: self.names().join(", "),
            });
        }
        self.tool_choice = choice;
        Ok(self)
    }
}

/// Checks `name` against the API's pattern `^[a-zA-Z0-9_-]{1,64}$`.
pub fn check_name(name: &str) -> Result<(), RegistryError> {
    let refuse = |reason: String| {
        Err(RegistryError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("a tool name cannot be empty".to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return refuse(format!(
            "it is {} bytes long; the API allows at most {MAX_NAME_LEN}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return refuse(format!(
            "{bad:?} is not allowed; use only ASCII letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}
