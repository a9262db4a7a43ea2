//! The [`Tool`] trait: a typed tool written in Rust, and its blanket [`DynTool`] impl.

use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    DEFAULT_TIMEOUT, DynTool, OnInterrupt, ToolContext, ToolError, ToolOptions, arguments,
};
use crate::protocol::FunctionDefinition;

/// A tool written in Rust: typed arguments in, a serializable output out.
///
/// The parameters schema is generated from [`Args`](Tool::Args) (see
/// [`schema::parameters_for`](crate::tool::schema::parameters_for)); doc comments on the fields
/// become their descriptions. Every `Tool` is a [`DynTool`], which is what the registry holds.
///
/// ```
/// use realtime_agent::tool::{Tool, ToolContext};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct AddArgs {
///     /// The first addend.
///     a: i64,
///     /// The second addend.
///     b: i64,
/// }
///
/// struct Add;
///
/// #[async_trait::async_trait]
/// impl Tool for Add {
///     type Args = AddArgs;
///     type Output = i64;
///     type Error = std::convert::Infallible;
///
///     fn name(&self) -> &str {
///         "add"
///     }
///     fn description(&self) -> &str {
///         "Adds two integers."
///     }
///     async fn call(&self, args: AddArgs, _ctx: ToolContext) -> Result<i64, Self::Error> {
///         Ok(args.a + args.b)
///     }
/// }
/// ```
#[async_trait]
pub trait Tool: Send + Sync + 'static {
    /// The arguments, deserialized from the model's JSON.
    type Args: DeserializeOwned + JsonSchema + Send;
    /// The result. A string output (`String`, `&'static str`, …) goes to the model as it is; any
    /// other value as compact JSON.
    type Output: Serialize + Send;
    /// The tool's failure; its `Display` text is what the model reads.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The function name the model calls; it must match `^[a-zA-Z0-9_-]{1,64}$`.
    fn name(&self) -> &str;

    /// What the tool does, for the model to decide when to call it.
    fn description(&self) -> &str;

    /// The parameters JSON Schema. Defaults to the one generated from [`Args`](Tool::Args).
    fn parameters(&self) -> Value {
        super::schema::parameters_for::<Self::Args>()
    }

    /// The longest a call may run (default 30 s).
    fn timeout(&self) -> Duration {
        DEFAULT_TIMEOUT
    }

    /// What a barge-in does to a running call (default [`OnInterrupt::Keep`]).
    fn on_interrupt(&self) -> OnInterrupt {
        OnInterrupt::Keep
    }

    /// Whether the user must approve each call (default `false`).
    fn requires_approval(&self) -> bool {
        false
    }

    /// When a call has run this long, the assistant says a short filler while it goes on
    /// (default `None`: silence).
    fn filler_after(&self) -> Option<Duration> {
        None
    }

    /// Runs the tool.
    async fn call(&self, args: Self::Args, ctx: ToolContext) -> Result<Self::Output, Self::Error>;
}

#[async_trait]
impl<T: Tool> DynTool for T {
    fn name(&self) -> &str {
        Tool::name(self)
    }

    fn definition(&self) -> FunctionDefinition {
        FunctionDefinition::new(Tool::name(self), self.description(), self.parameters())
    }

    fn options(&self) -> ToolOptions {
        ToolOptions {
            timeout: self.timeout(),
            on_interrupt: self.on_interrupt(),
            requires_approval: self.requires_approval(),
            filler_after: self.filler_after(),
        }
    }

    async fn call_json(&self, arguments: &str, ctx: ToolContext) -> Result<String, ToolError> {
        let args: T::Args = arguments::parse(arguments)?;
        let output = self.call(args, ctx).await.map_err(ToolError::failed)?;
        encode_output(&output)
    }
}

/// The `function_call_output` text of a tool's result: strings as they are, the rest as JSON.
pub(crate) fn encode_output<O: Serialize + ?Sized>(output: &O) -> Result<String, ToolError> {
    let value = serde_json::to_value(output).map_err(|error| {
        ToolError::failed(format!(
            "the tool's result could not be encoded as JSON: {error}"
        ))
    })?;
    Ok(match value {
        Value::String(text) => text,
        other => other.to_string(),
    })
}
