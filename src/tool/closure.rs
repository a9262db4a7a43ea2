//! Tools from closures: a name, a description and an async closure.
//!
//! [`tool`] takes a closure of the arguments alone or of the arguments and the [`ToolContext`];
//! its error type is [`BoxError`], so `Ok(value)` needs no annotation and `?` takes any error.
//! [`tool_fn`] and [`tool_fn_without_context`] are the older pair, kept for existing code.

use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BoxError, OnInterrupt, Tool, ToolContext, ToolOptions};

/// A tool made of an async closure: a name, a description for the model, and the closure,
/// which takes the arguments (any `Deserialize + JsonSchema` type; see
/// [`tool_args!`](crate::tool_args)) and, if it wants them, the [`ToolContext`] as a second
/// parameter (annotated `ctx: ToolContext`). It returns `Ok(output)` with any `Serialize`
/// output (a string goes to the model as it is) or an error: `?` and `Err("text".into())`
/// both work.
///
/// ```
/// use realtime_agent::tool::{ToolContext, tool};
///
/// realtime_agent::tool_args! {
///     struct Weather {
///         /// The city, e.g. "Paris".
///         city: String,
///     }
/// }
///
/// let weather = tool("get_weather", "Current weather in a city.", |args: Weather| async move {
///     Ok(format!("Sunny in {}", args.city))
/// });
/// let cancellable = tool("slow_search", "Searches slowly.", |args: Weather, ctx: ToolContext| async move {
///     if ctx.is_cancelled() {
///         return Err("cancelled".into());
///     }
///     Ok(format!("nothing found in {}", args.city))
/// })
/// .timeout(std::time::Duration::from_secs(5));
/// # let _ = (weather, cancellable);
/// ```
pub fn tool<M, F>(
    name: impl Into<String>,
    description: impl Into<String>,
    function: F,
) -> ToolFn<F::Args, Closure<F, M>>
where
    F: ToolClosure<M>,
{
    ToolFn::new(
        name.into(),
        description.into(),
        Closure {
            function,
            marker: PhantomData,
        },
    )
}

/// An async closure [`tool`] accepts: `Fn(Args) -> impl Future<Output = Result<O, BoxError>>`
/// or `Fn(Args, ToolContext) -> …`. `M` tells the two shapes apart; you never name it, and do
/// not implement this trait yourself.
pub trait ToolClosure<M>: Send + Sync + 'static {
    /// The arguments the model sends.
    type Args: DeserializeOwned + JsonSchema + Send + 'static;
    /// The closure's successful result.
    type Output: Serialize + Send;
    /// The closure's future.
    type Future: Future<Output = Result<Self::Output, BoxError>> + Send;

    /// Calls the closure.
    fn call(&self, args: Self::Args, ctx: ToolContext) -> Self::Future;
}

impl<F, A, Fut, O> ToolClosure<(A,)> for F
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, BoxError>> + Send,
    A: DeserializeOwned + JsonSchema + Send + 'static,
    O: Serialize + Send,
{
    type Args = A;
    type Output = O;
    type Future = Fut;

    fn call(&self, args: A, _ctx: ToolContext) -> Fut {
        self(args)
    }
}

impl<F, A, Fut, O> ToolClosure<(A, ToolContext)> for F
where
    F: Fn(A, ToolContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, BoxError>> + Send,
    A: DeserializeOwned + JsonSchema + Send + 'static,
    O: Serialize + Send,
{
    type Args = A;
    type Output = O;
    type Future = Fut;

    fn call(&self, args: A, ctx: ToolContext) -> Fut {
        self(args, ctx)
    }
}

/// The closure of a [`tool`].
pub struct Closure<F, M> {
    function: F,
    // `fn() -> M` keeps it `Send + Sync` whatever `M` is: no `M` is ever stored.
    marker: PhantomData<fn() -> M>,
}

impl<F, M> std::fmt::Debug for Closure<F, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closure").finish_non_exhaustive()
    }
}

impl<F, M> ToolHandler<F::Args> for Closure<F, M>
where
    F: ToolClosure<M>,
    M: 'static,
{
    type Output = F::Output;
    type Error = BoxError;
    type Future = F::Future;

    fn call(&self, args: F::Args, ctx: ToolContext) -> F::Future {
        self.function.call(args, ctx)
    }
}

/// A tool made of a closure that takes the arguments and the [`ToolContext`]. [`tool`] does
/// the same with or without the context and needs no `Ok::<_, E>`.
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

/// A tool made of a closure that takes only the arguments. [`tool`] does the same with or
/// without the context and needs no `Ok::<_, E>`.
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

/// A closure tool, built by [`tool`] (or [`tool_fn`], [`tool_fn_without_context`]); set its
/// options with the builder methods.
#[must_use = "a tool does nothing until registered (AgentBuilder::tool)"]
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
