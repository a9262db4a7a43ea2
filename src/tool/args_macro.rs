//! `tool_args!`: argument types for tools without depending on `serde` or `schemars` yourself.

/// Declares argument types for tools (structs and enums with braces), deriving `Deserialize`
/// and `JsonSchema` through this crate's own `serde` and `schemars`, so a tool needs no
/// dependency on them, let alone matching versions. Doc comments become the field
/// descriptions the model reads; `#[serde(...)]` attributes work as usual.
///
/// ```
/// realtime_agent::tool_args! {
///     /// Where and in which unit.
///     pub struct WeatherArgs {
///         /// The city, e.g. "Paris".
///         pub city: String,
///         /// Celsius (default) or Fahrenheit.
///         pub unit: Option<Unit>,
///     }
///
///     #[serde(rename_all = "lowercase")]
///     pub enum Unit {
///         Celsius,
///         Fahrenheit,
///     }
/// }
///
/// let schema = realtime_agent::tool::schema::parameters_for::<WeatherArgs>();
/// assert_eq!(schema["required"], serde_json::json!(["city"]));
/// ```
///
/// The derives name this crate as `realtime_agent`; under another name (a renamed
/// dependency), derive `Deserialize` and `JsonSchema` yourself.
#[macro_export]
macro_rules! tool_args {
    ($($(#[$meta:meta])* $vis:vis $kind:ident $name:ident { $($body:tt)* })*) => {$(
        #[derive($crate::serde::Deserialize, $crate::schemars::JsonSchema)]
        #[serde(crate = "realtime_agent::serde")]
        #[schemars(crate = "realtime_agent::schemars")]
        $(#[$meta])*
        $vis $kind $name { $($body)* }
    )*};
}
