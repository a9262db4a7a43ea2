//! The errors of the tool module: a call that fails ([`ToolError`]) and a registration that is
//! refused ([`RegistryError`]).

/// A boxed error, the currency of tool failures: any `std::error::Error + Send + Sync`, a
/// `String` or a `&str` converts into it with `.into()` or `?`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why one tool call produced no result.
///
/// The agent loop turns each variant into a `function_call_output` the model can act on (see
/// [`output::for_error`](crate::tool::output::for_error)); the session goes on. Retrying the same
/// call with the same arguments helps only for [`ToolError::Failed`], and only when the tool's own
/// error is transient.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments were not JSON, or did not match the tool's parameters schema. The message
    /// names the field, e.g. `field "unit": unknown variant "kelvin", expected "celsius" or
    /// "fahrenheit"`. Retrying helps only with corrected arguments.
    #[error("invalid arguments: {message}")]
    InvalidArguments {
        /// What is wrong and where, for the model.
        message: String,
    },
    /// The tool ran and reported a failure; its message is shown to the model.
    #[error("{source}")]
    Failed {
        /// The tool's own error.
        #[source]
        source: BoxError,
    },
    /// The call was cancelled through its [`ToolContext`](crate::tool::ToolContext) token before
    /// it finished (barge-in or session close).
    #[error("cancelled")]
    Cancelled,
}

impl ToolError {
    /// An [`InvalidArguments`](ToolError::InvalidArguments) error with this message.
    pub fn invalid_arguments(message: impl Into<String>) -> Self {
        ToolError::InvalidArguments {
            message: message.into(),
        }
    }

    /// A [`Failed`](ToolError::Failed) error wrapping the tool's own error.
    pub fn failed(source: impl Into<BoxError>) -> Self {
        ToolError::Failed {
            source: source.into(),
        }
    }
}

/// Why a tool could not be added to a [`ToolRegistry`](crate::tool::ToolRegistry), or a
/// `tool_choice` not set. Fix the tool or the configuration; retrying does not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The name does not match the API's pattern `^[a-zA-Z0-9_-]{1,64}$`.
    #[error("invalid tool name {name:?}: {reason}")]
    InvalidName {
        /// The refused name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tool with this name is already registered.
    #[error("duplicate tool name {name:?}: a tool with this name is already registered")]
    DuplicateName {
        /// The name registered twice.
        name: String,
    },
    /// The tool's parameters schema is not one the Realtime API accepts (not a `type: object`
    /// schema, or it still holds a `$ref`, as a recursive argument type does).
    #[error("tool {name:?} has unusable parameters: {reason}")]
    InvalidParameters {
        /// The tool's name.
        name: String,
        /// What is wrong with its schema.
        reason: String,
    },
    /// `tool_choice` names a function that is not registered.
    #[error("tool_choice names {name:?}, which is not a registered tool (registered: {available})")]
    UnknownToolChoice {
        /// The name given.
        name: String,
        /// The registered names, comma-separated.
        available: String,
    },
    /// A tool to remove is not registered.
    #[error("there is no tool named {name:?} to remove (registered: {available})")]
    NotRegistered {
        /// The name given.
        name: String,
        /// The registered names, comma-separated.
        available: String,
    },
}
