//! Tools the model can call.
//!
//! # Layout
//!
//! - [`Tool`] (`typed.rs`): a typed tool in Rust; its parameters schema comes from its argument
//!   type ([`schema`]). [`tool`] makes one from a closure, with or without the context
//!   (`closure.rs`); [`tool_args!`](crate::tool_args) declares argument types without a
//!   `serde` or `schemars` dependency of your own (`args_macro.rs`).
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
//! use realtime_agent::tool::{BoxError, ToolContext, ToolRegistry, tool};
//!
//! realtime_agent::tool_args! {
//!     struct WeatherArgs {
//!         /// The city, e.g. "Paris".
//!         city: String,
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut registry = ToolRegistry::new();
//! registry.add(tool("get_weather", "Current weather", |args: WeatherArgs| async move {
//!     Ok(format!("Sunny in {}", args.city))
//! }))?;
//!
//! let weather = registry.get("get_weather").unwrap().tool().clone();
//! let output = weather.call_json(r#"{"city":"Paris"}"#, ToolContext::standalone("call_1")).await?;
//! assert_eq!(output, "Sunny in Paris");
//! # Ok::<_, BoxError>(())
//! # }).unwrap();
//! ```

mod args_macro;
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
    ArgsOnly, Closure, ToolClosure, ToolFn, ToolFnError, ToolHandler, WithContext, tool, tool_fn,
    tool_fn_without_context,
};
pub(crate) use context::ToolSignal;
pub use context::{SessionInfo, ToolContext};
pub use declared::{
    CommandError, CommandTool, CommandToolSpec, DeclaredToolSpec, HttpError, HttpMethod, HttpTool,
    HttpToolSpec, SpecError,
};
pub use dyn_tool::{DEFAULT_TIMEOUT, DynTool, OnInterrupt, ToolOptions};
pub use error::{BoxError, RegistryError, ToolError};
#[cfg(feature = "mcp")]
pub(crate) use registry::check_name as check_tool_name;
pub use registry::{RegisteredTool, ToolOverrides, ToolRegistry};
pub use typed::Tool;
