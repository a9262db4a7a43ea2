//! Typed tools through their erased form: argument errors that name the field, outputs, the
//! closure forms and the trait's options.

use std::sync::Arc;
use std::time::Duration;

use realtime_agent::protocol::Dialect;
use tokio_util::sync::CancellationToken;

use realtime_agent::tool::{
    BoxError, DynTool, OnInterrupt, SessionInfo, Tool, ToolContext, ToolError, ToolFn, ToolHandler,
    ToolOptions, tool_fn, tool_fn_without_context,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Celsius,
    Fahrenheit,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Place {
    city: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct WeatherArgs {
    place: Place,
    unit: Unit,
    #[serde(default)]
    days: Vec<u8>,
}

fn weather() -> ToolFn<WeatherArgs, impl ToolHandler<WeatherArgs>> {
    tool_fn(
        "get_weather",
        "Current weather",
        |args: WeatherArgs, _ctx| async move {
            Ok::<_, BoxError>(format!(
                "{:?} in {} for {} days",
                args.unit,
                args.place.city,
                args.days.len()
            ))
        },
    )
}

async fn call(tool: &impl DynTool, arguments: &str) -> Result<String, ToolError> {
    tool.call_json(arguments, ToolContext::standalone("call_1"))
        .await
}

async fn invalid(tool: &impl DynTool, arguments: &str) -> String {
    match call(tool, arguments).await {
        Err(error @ ToolError::InvalidArguments { .. }) => error.to_string(),
        other => panic!("expected invalid arguments, got {other:?}"),
    }
}

/// A string output reaches the model as the plain string, not JSON-quoted.
#[tokio::test]
async fn string_output_is_plain() {
    let output = call(
        &weather(),
        r#"{"place":{"city":"Paris"},"unit":"celsius","days":[1,2]}"#,
    )
    .await
    .unwrap();
    assert_eq!(output, "Celsius in Paris for 2 days");
}

/// An unknown enum value names the field and the allowed values.
#[tokio::test]
async fn unknown_variant_names_the_field() {
    assert_eq!(
        invalid(&weather(), r#"{"place":{"city":"Paris"},"unit":"kelvin"}"#).await,
        r#"invalid arguments: field "unit": unknown variant "kelvin", expected "celsius" or "fahrenheit""#
    );
}

/// A missing nested field names its parent; a wrong type in an array names the index.
#[tokio::test]
async fn nested_errors_name_the_path() {
    assert_eq!(
        invalid(&weather(), r#"{"place":{},"unit":"celsius"}"#).await,
        r#"invalid arguments: field "place": missing field "city""#
    );
    assert_eq!(
        invalid(
            &weather(),
            r#"{"place":{"city":"Paris"},"unit":"celsius","days":[1,"two"]}"#
        )
        .await,
        r#"invalid arguments: field "days[1]": invalid type: string "two", expected u8"#
    );
    assert_eq!(
        invalid(&weather(), r#"{"unit":"celsius"}"#).await,
        r#"invalid arguments: missing field "place""#
    );
}

/// Text that is not JSON says so, with the position of the fault.
#[tokio::test]
async fn bad_json_is_reported_with_position() {
    assert_eq!(
        invalid(&weather(), r#"{"place": {"city": "Paris"}, "unit": }"#).await,
        "invalid arguments: not valid JSON: expected value at line 1 column 38"
    );
    assert_eq!(
        invalid(&weather(), r#"{"place":{"city":"P"},"unit":"celsius"} x"#).await,
        "invalid arguments: not valid JSON: trailing characters at line 1 column 41"
    );
}

#[derive(Debug, Deserialize, JsonSchema)]
struct NoArgs;

#[derive(Serialize)]
struct Clock {
    hour: u8,
    minute: u8,
}

/// An argument-less tool accepts `{}` and empty arguments; a struct output is compact JSON.
#[tokio::test]
async fn unit_args_and_struct_output() {
    let clock = tool_fn_without_context("get_time", "The time", |_: NoArgs| async {
        Ok::<_, BoxError>(Clock { hour: 9, minute: 5 })
    });
    assert_eq!(
        call(&clock, "{}").await.unwrap(),
        r#"{"hour":9,"minute":5}"#
    );
    assert_eq!(call(&clock, "").await.unwrap(), r#"{"hour":9,"minute":5}"#);
    assert_eq!(
        clock.definition().parameters,
        json!({"type": "object", "properties": {}})
    );
}

/// A closure's error becomes `ToolError::Failed` with the closure's message.
#[tokio::test]
async fn closure_error_is_failed_with_its_message() {
    let failing = tool_fn_without_context("lookup", "Looks up", |_: ()| async {
        Err::<String, _>("city database is offline")
    });
    match call(&failing, "{}").await {
        Err(ToolError::Failed { source }) => {
            assert_eq!(source.to_string(), "city database is offline")
        }
        other => panic!("expected a tool failure, got {other:?}"),
    }
}

/// The closure form carries its name, description, generated schema and option setters.
#[tokio::test]
async fn closure_tool_definition_and_options() {
    let tool = weather()
        .timeout(Duration::from_secs(5))
        .on_interrupt(OnInterrupt::Cancel)
        .requires_approval(true);
    let definition = tool.definition();
    assert_eq!(definition.name, "get_weather");
    assert_eq!(definition.description, "Current weather");
    assert_eq!(definition.parameters["required"], json!(["place", "unit"]));
    assert_eq!(
        DynTool::options(&tool),
        ToolOptions {
            timeout: Duration::from_secs(5),
            on_interrupt: OnInterrupt::Cancel,
            requires_approval: true,
            filler_after: None,
        }
    );
    assert_eq!(DynTool::options(&weather()), ToolOptions::default());
}

/// The context passed to the closure carries the call id, the token and the session info.
#[tokio::test]
async fn closure_sees_its_context() {
    let tool = tool_fn(
        "whoami",
        "Echoes the call",
        |_: (), ctx: ToolContext| async move {
            let session = ctx.session();
            Ok::<_, BoxError>(format!(
                "{} cancelled={} {} {} {:?}",
                ctx.call_id(),
                ctx.is_cancelled(),
                session.model,
                session.dialect,
                session.session_id
            ))
        },
    );
    let session = SessionInfo::new("gpt-realtime", Dialect::Beta).with_session_id("sess_1");
    let ctx = ToolContext::new("call_42", CancellationToken::new(), Arc::new(session));
    ctx.cancellation().cancel();
    assert_eq!(
        tool.call_json("{}", ctx.clone()).await.unwrap(),
        "call_42 cancelled=true gpt-realtime beta Some(\"sess_1\")"
    );
    let standalone = ToolContext::standalone("call_1");
    assert_eq!(standalone.session(), &SessionInfo::default());
    assert!(!standalone.is_cancelled());
}

/// The errors are `Send + Sync + 'static`, so they cross tasks and box into other errors.
#[test]
fn errors_are_send_sync_static() {
    fn assert_bounds<T: Send + Sync + 'static>() {}
    assert_bounds::<ToolError>();
    assert_bounds::<realtime_agent::tool::RegistryError>();
    assert_bounds::<realtime_agent::tool::SpecError>();
    assert_bounds::<realtime_agent::tool::CommandError>();
    assert_bounds::<realtime_agent::tool::HttpError>();
    assert_bounds::<ToolContext>();
}

/// A tool written as a trait impl, with its own options.
struct Slow;

#[derive(Debug, thiserror::Error)]
#[error("too slow")]
struct SlowError;

#[async_trait::async_trait]
impl Tool for Slow {
    type Args = ();
    type Output = Option<u32>;
    type Error = SlowError;

    fn name(&self) -> &str {
        "slow"
    }
    fn description(&self) -> &str {
        "Takes its time"
    }
    fn timeout(&self) -> Duration {
        Duration::from_millis(1500)
    }
    fn on_interrupt(&self) -> OnInterrupt {
        OnInterrupt::Cancel
    }
    async fn call(&self, _: (), _ctx: ToolContext) -> Result<Option<u32>, SlowError> {
        Ok(None)
    }
}

/// The trait's option methods reach the erased form; a `None` output is `null`.
#[tokio::test]
async fn trait_tool_options_and_null_output() {
    assert_eq!(
        DynTool::options(&Slow),
        ToolOptions {
            timeout: Duration::from_millis(1500),
            on_interrupt: OnInterrupt::Cancel,
            requires_approval: false,
            filler_after: None,
        }
    );
    assert_eq!(Slow.definition().description, "Takes its time");
    assert_eq!(call(&Slow, "{}").await.unwrap(), "null");
}
