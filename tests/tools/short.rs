//! The short forms compile and behave: `tool` with and without the context, no `Ok::<_, E>`,
//! `?` on any error, `tool_args!` and `#[realtime_agent::async_trait]` through the crate's own
//! re-exports (this file names no `serde`, `schemars` or `async_trait` crate of its own).

use realtime_agent::prelude::*;
use realtime_agent::tool::{DynTool, OnInterrupt, ToolRegistry};

tool_args! {
    /// Where, and in which unit.
    struct Weather {
        /// The city, e.g. "Paris".
        city: String,
        /// Celsius (default) or Fahrenheit.
        unit: Option<Unit>,
    }

    #[serde(rename_all = "lowercase")]
    enum Unit {
        Celsius,
        Fahrenheit,
    }

    struct Sum {
        /// The first addend.
        a: i64,
        /// The second addend.
        b: i64,
    }
}

fn ctx() -> ToolContext {
    ToolContext::standalone("call_1")
}

/// The shortest tool: a closure of the arguments, `Ok(..)` without a turbofish; its schema
/// comes from `tool_args!` with the doc comments as descriptions.
#[tokio::test]
async fn a_closure_of_the_arguments_alone() {
    let weather = tool(
        "get_weather",
        "Current weather in a city.",
        |args: Weather| async move {
            let unit = match args.unit {
                Some(Unit::Fahrenheit) => "F",
                _ => "C",
            };
            Ok(format!("17 {unit} in {}", args.city))
        },
    );
    let definition = realtime_agent::serde_json::to_value(weather.definition()).unwrap();
    assert_eq!(
        definition,
        realtime_agent::serde_json::json!({
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "description": "Where, and in which unit.",
                "properties": {
                    "city": {"type": "string", "description": "The city, e.g. \"Paris\"."},
                    "unit": {
                        "type": "string",
                        "enum": ["celsius", "fahrenheit"],
                        "description": "Celsius (default) or Fahrenheit."
                    }
                },
                "required": ["city"]
            }
        })
    );
    let output = weather
        .call_json(r#"{"city":"Oslo","unit":"fahrenheit"}"#, ctx())
        .await
        .unwrap();
    assert_eq!(output, "17 F in Oslo");
}

/// The same constructor takes a closure of the arguments and the context; its builder
/// methods still apply.
#[tokio::test]
async fn a_closure_with_the_context() {
    let echo = tool(
        "whoami",
        "The call id.",
        |_: (), ctx: ToolContext| async move { Ok(ctx.call_id().to_owned()) },
    )
    .on_interrupt(OnInterrupt::Cancel);
    assert_eq!(echo.options().on_interrupt, OnInterrupt::Cancel);
    assert_eq!(echo.call_json("null", ctx()).await.unwrap(), "call_1");
}

/// `?` takes any error and `Err("text".into())` a message; both reach the model as the tool's
/// failure, and a JSON output is encoded as JSON.
#[tokio::test]
async fn errors_need_no_annotation() {
    let parse = tool("parse", "Parses a number.", |text: Sum| async move {
        let total: i64 = format!("{}", text.a + text.b).parse()?;
        if total < 0 {
            return Err("negative sums are not allowed".into());
        }
        Ok(realtime_agent::serde_json::json!({ "total": total }))
    });
    assert_eq!(
        parse.call_json(r#"{"a":2,"b":3}"#, ctx()).await.unwrap(),
        r#"{"total":5}"#
    );
    let error = parse
        .call_json(r#"{"a":-2,"b":1}"#, ctx())
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "negative sums are not allowed");
}

/// The `Tool` trait through the re-exported `async_trait`, next to a closure tool in one
/// registry.
#[tokio::test]
async fn the_trait_through_the_reexports() {
    struct Add;

    #[async_trait]
    impl Tool for Add {
        type Args = Sum;
        type Output = i64;
        type Error = std::convert::Infallible;

        fn name(&self) -> &str {
            "add"
        }

        fn description(&self) -> &str {
            "Adds two integers."
        }

        async fn call(&self, args: Sum, _ctx: ToolContext) -> Result<i64, Self::Error> {
            Ok(args.a + args.b)
        }
    }

    let mut registry = ToolRegistry::new();
    registry
        .add(Add)
        .unwrap()
        .add(tool("noop", "Does nothing.", |_: ()| async { Ok("done") }))
        .unwrap();
    assert_eq!(registry.names(), ["add", "noop"]);
    let add = registry.get("add").unwrap().tool().clone();
    assert_eq!(
        add.call_json(r#"{"a":2,"b":40}"#, ctx()).await.unwrap(),
        "42"
    );
}
