//! Tools from closures: a name, a description and an async closure.

use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BoxError, OnInterrupt, Tool, ToolContext, ToolOptions};

/// A tool made of a closure that takes the arguments and the [`ToolContext`].
///
/// ```
/// use realtime_agent::tool::{BoxError, tool_fn};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct WeatherArgs {
///     /// The city, e.g. "Paris".
///     city: String,
/// }
///
/// let weather = tool_fn("get_weather", "Current weather", |args: WeatherArgs, ctx| async move {
///     Ok::<_, BoxError>(format!("Sunny in {} (call {})", args.city, ctx.call_id()))
/// })
/// .timeout(std::time::Duration::from_secs(5));
/// ```
pub fn tool_fn<A, F, Fut, O, E>(
    name: impl Into<String>,
    description: impl Into<String>,
    function: F,
) -> ToolFn<A, WithContext<F>>
where
    F: Fn(A, ToolContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send,
    A: DeserializeOwned + JsonSchema + Send + 'static,
    O: Serialize + Send,
    E: Into<BoxError>,
{
    ToolFn::new(name.into(), description.into(), WithContext(function))
}

/// A tool made of a closure that takes only the arguments.
///
/// ```
/// use realtime_agent::tool::{BoxError, tool_fn_without_context};
///
/// let time = tool_fn_without_context("get_time", "The current Unix time", |_: ()| async {
///     let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
///     Ok::<_, BoxError>(now.as_secs())
/// });
/// ```
pub fn tool_fn_without_context<A, F, Fut, O, E>(
    name: impl Into<String>,
    description: impl Into<String>,
    function: F,
) -> ToolFn<A, ArgsOnly<F>>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send,
    A: DeserializeOwned + JsonSchema + Send + 'static,
    O: Serialize + Send,
    E: Into<BoxError>,
{
    ToolFn::new(name.into(), description.into(), ArgsOnly(function))
}

/// The body of a closure tool: what [`tool_fn`] and [`tool_fn_without_context`] wrap. You do not
/// implement it yourself.
pub trait ToolHandler<A>: Send + Sync + 'static {
    /// The closure's successful result.
    type Output: Serialize + Send;
    /// The closure's error.
    type Error: Into<BoxError>;
    /// The closure's future.
    type Future: Future<Output = Result<Self::Output, Self::Error>> + Send;

    /// Calls the closure.
    fn call(&self, args: A, ctx: ToolContext) -> Self::Future;
}

/// A closure that takes the arguments and the context (see [`tool_fn`]).
#[derive(Debug, Clone)]
pub struct WithContext<F>(F);

/// A closure that takes only the arguments (see [`tool_fn_without_context`]).
#[derive(Debug, Clone)]
pub struct ArgsOnly<F>(F);

impl<A, F, Fut, O, E> ToolHandler<A> for WithContext<F>
where
    F: Fn(A, ToolContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send,
    O: Serialize + Send,
    E: Into<BoxError>,
{
    type Output = O;
    type Error = E;
    type Future = Fut;

    fn call(&self, args: A, ctx: ToolContext) -> Fut {
        (self.0)(args, ctx)
    }
}

impl<A, F, Fut, O, E> ToolHandler<A> for ArgsOnly<F>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send,
    O: Serialize + Send,
    E: Into<BoxError>,
{
    type Output = O;
    type Error = E;
    type Future = Fut;

    fn call(&self, args: A, _ctx: ToolContext) -> Fut {
        (self.0)(args)
    }
}

/// A closure tool, built by [`tool_fn`] or [`tool_fn_without_context`]; set its options with
/// the builder methods.
pub struct ToolFn<A, H> {
    name: String,
    description: String,
    options: ToolOptions,
    handler: H,
    // `fn() -> A` keeps `ToolFn` `Send + Sync` whatever `A` is: no `A` is ever stored.
    args: PhantomData<fn() -> A>,
}

impl<A, H> ToolFn<A, H> {
    fn new(name: String, description: String, handler: H) -> Self {
        ToolFn {
            name,
            description,
            options: ToolOptions::default(),
            handler,
            args: PhantomData,
        }
    }

    /// Sets the longest a call may run (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// Sets what a barge-in does to a running call (default [`OnInterrupt::Keep`]).
    pub fn on_interrupt(mut self, on_interrupt: OnInterrupt) -> Self {
        self.options.on_interrupt = on_interrupt;
        self
    }

    /// Sets whether the user must approve each call (default `false`).
    pub fn requires_approval(mut self, requires_approval: bool) -> Self {
        self.options.requires_approval = requires_approval;
        self
    }

    /// Has the assistant say a short filler when a call has run `after` (default: silence).
    pub fn filler_after(mut self, after: Duration) -> Self {
        self.options.filler_after = Some(after);
        self
    }
}

impl<A, H> std::fmt::Debug for ToolFn<A, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolFn")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The error of a closure tool: whatever the closure returned, boxed. Its `Display` is the
/// closure's error's.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ToolFnError(BoxError);

impl ToolFnError {
    /// The closure's error.
    pub fn into_inner(self) -> BoxError {
        self.0
    }
}

#[async_trait]
impl<A, H> Tool for ToolFn<A, H>
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    H: ToolHandler<A>,
{
    type Args = A;
    type Output = H::Output;
    type Error = ToolFnError;

    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn timeout(&self) -> Duration {
        self.options.timeout
    }

    fn on_interrupt(&self) -> OnInterrupt {
        self.options.on_interrupt
    }

    fn requires_approval(&self) -> bool {
        self.options.requires_approval
    }

    fn filler_after(&self) -> Option<Duration> {
        self.options.filler_after
    }

    async fn call(&self, args: A, ctx: ToolContext) -> Result<H::Output, ToolFnError> {
        self.handler
            .call(args, ctx)
            .await
            .map_err(|error| ToolFnError(error.into()))
    }
}
