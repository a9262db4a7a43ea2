//! Tools the model can call.
//!
//! # Layout
//!
//! - [`Tool`] (`typed.rs`): a typed tool in Rust; its parameters schema comes from its argument
//!   type ([`schema`]). [`tool_fn`] makes one from a closure (`closure.rs`).
//! - [`DynTool`] (`dyn_tool.rs`): the object-safe form the agent loop runs, with
//!   [`ToolOptions`] (timeout, [`OnInterrupt`], approval). Every `Tool` is one.
//! - [`ToolContext`] (`context.rs`): the call id, a cancellation token and [`SessionInfo`].
//! - [`ChildEnv`] (`child_env.rs`): the environment of every program the agent starts, never
//!   holding the API key.
//! - [`ToolRegistry`] (`registry.rs`): the session's tools, checked names, definitions and
//!   `tool_choice`.
//! - [`output`]: the text the model sees when a call fails, in one place.
//! - Declared tools (`declared/`): [`CommandTool`] and [`HttpTool`], built from `agent.toml`
//!   ([`DeclaredToolSpec`]), with a small JSON Schema validator for their arguments.
//!
//! ```
//! use realtime_agent::tool::{BoxError, ToolContext, ToolRegistry, tool_fn};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct WeatherArgs {
//!     /// The city, e.g. "Paris".
//!     city: String,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut registry = ToolRegistry::new();
//! registry.add(tool_fn("get_weather", "Current weather", |args: WeatherArgs, _ctx| async move {
//!     Ok::<_, BoxError>(format!("Sunny in {}", args.city))
//! }))?;
//!
//! let weather = registry.get("get_weather").unwrap().tool().clone();
//! let output = weather.call_json(r#"{"city":"Paris"}"#, ToolContext::standalone("call_1")).await?;
//! assert_eq!(output, "Sunny in Paris");
//! # Ok::<_, BoxError>(())
//! # }).unwrap();
//! ```

mod arguments;
mod child_env;
mod closure;
mod context;
mod declared;
mod dyn_tool;
mod error;
pub mod output;
mod registry;
pub mod schema;
mod typed;

pub use child_env::{ALWAYS_WITHHELD, ChildEnv, ResolvedEnv};
pub use closure::{
    ArgsOnly, ToolFn, ToolFnError, ToolHandler, WithContext, tool_fn, tool_fn_without_context,
};
pub(crate) use context::ToolSignal;
pub use context::{SessionInfo, ToolContext};
pub use declared::{
    CommandError, CommandTool, CommandToolSpec, DeclaredToolSpec, HttpError, HttpMethod, HttpTool,
    HttpToolSpec, SpecError,
};
pub use dyn_tool::{DEFAULT_TIMEOUT, DynTool, OnInterrupt, ToolOptions};
pub use error::{BoxError, RegistryError, ToolError};
pub use registry::{RegisteredTool, ToolOverrides, ToolRegistry};
pub use typed::Tool;
