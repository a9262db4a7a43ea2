//! The registry: checked names, definitions in order, overrides, lookup and `tool_choice`.

use std::time::Duration;

use realtime_agent::protocol::{ToolChoice, ToolDefinition};
use realtime_agent::tool::{
    BoxError, OnInterrupt, RegistryError, ToolFn, ToolHandler, ToolOptions, ToolOverrides,
    ToolRegistry, tool_fn_without_context,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

fn named(name: &str) -> ToolFn<(), impl ToolHandler<()>> {
    tool_fn_without_context(name.to_owned(), format!("The {name} tool"), |_: ()| async {
        Ok::<_, BoxError>("done")
    })
}

/// Definitions come out in registration order, as function tools with their schemas.
#[test]
fn definitions_in_registration_order() {
    let mut registry = ToolRegistry::new();
    registry.add(named("b_tool")).unwrap();
    registry.add(named("a-tool")).unwrap();
    registry.add(named("C9")).unwrap();
    assert_eq!(registry.names(), ["b_tool", "a-tool", "C9"]);
    assert_eq!(registry.len(), 3);
    let empty = json!({"type": "object", "properties": {}});
    assert_eq!(
        registry.definitions(),
        vec![
            ToolDefinition::function("b_tool", "The b_tool tool", empty.clone()),
            ToolDefinition::function("a-tool", "The a-tool tool", empty.clone()),
            ToolDefinition::function("C9", "The C9 tool", empty),
        ]
    );
    assert_eq!(
        serde_json::to_value(&registry.definitions()[0]).unwrap(),
        json!({
            "type": "function",
            "name": "b_tool",
            "description": "The b_tool tool",
            "parameters": {"type": "object", "properties": {}}
        })
    );
}

/// Names outside `^[a-zA-Z0-9_-]{1,64}$` are refused with the reason.
#[test]
fn invalid_names_are_refused() {
    let mut registry = ToolRegistry::new();
    let error = |name: &str| registry_error(&mut ToolRegistry::new(), name);
    assert_eq!(
        error(""),
        "invalid tool name \"\": a tool name cannot be empty"
    );
    assert_eq!(
        error("get weather"),
        "invalid tool name \"get weather\": ' ' is not allowed; use only ASCII letters, digits, '_' and '-'"
    );
    assert_eq!(
        error("météo"),
        "invalid tool name \"météo\": 'é' is not allowed; use only ASCII letters, digits, '_' and '-'"
    );
    let long = "x".repeat(65);
    assert_eq!(
        error(&long),
        format!("invalid tool name \"{long}\": it is 65 bytes long; the API allows at most 64")
    );
    registry.add(named(&"y".repeat(64))).unwrap();
    assert_eq!(registry.names(), ["y".repeat(64)]);
}

fn registry_error(registry: &mut ToolRegistry, name: &str) -> String {
    registry.add(named(name)).unwrap_err().to_string()
}

/// A second tool with a taken name is refused and the first stays.
#[test]
fn duplicates_are_refused() {
    let mut registry = ToolRegistry::new();
    registry.add(named("lookup")).unwrap();
    let error = registry.add(named("lookup")).unwrap_err();
    assert_eq!(
        error,
        RegistryError::DuplicateName {
            name: "lookup".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "duplicate tool name \"lookup\": a tool with this name is already registered"
    );
    assert_eq!(registry.len(), 1);
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Tree {
    children: Vec<Tree>,
}

/// A tool whose schema cannot be inlined, or is not an object, is refused with the reason.
#[test]
fn unusable_schemas_are_refused() {
    let mut registry = ToolRegistry::new();
    let recursive = tool_fn_without_context("tree", "Walks a tree", |_: Tree| async {
        Ok::<_, BoxError>("ok")
    });
    assert_eq!(
        registry.add(recursive).unwrap_err().to_string(),
        "tool \"tree\" has unusable parameters: the schema holds a \"$ref\" (a recursive \
         argument type?); the Realtime API needs every definition inlined"
    );
    let list = tool_fn_without_context("list", "Takes a list", |_: Vec<String>| async {
        Ok::<_, BoxError>("ok")
    });
    assert_eq!(
        registry.add(list).unwrap_err().to_string(),
        "tool \"list\" has unusable parameters: the top level must be {\"type\":\"object\"} (an \
         argument struct), not type \"array\""
    );
    assert!(registry.is_empty());
}

/// Overrides replace only the options they set.
#[test]
fn overrides_replace_the_tools_own_options() {
    let mut registry = ToolRegistry::new();
    let tool = named("approve_me").timeout(Duration::from_secs(3));
    registry
        .add_with(
            tool,
            ToolOverrides::default()
                .requires_approval(true)
                .on_interrupt(OnInterrupt::Cancel),
        )
        .unwrap();
    assert_eq!(
        registry.get("approve_me").unwrap().options(),
        ToolOptions {
            timeout: Duration::from_secs(3),
            on_interrupt: OnInterrupt::Cancel,
            requires_approval: true,
            filler_after: None,
        }
    );
    assert!(registry.get("missing").is_none());
}

/// A forced function must be registered; the error lists what is.
#[test]
fn tool_choice_must_name_a_registered_tool() {
    let mut registry = ToolRegistry::new();
    registry
        .add(named("one"))
        .unwrap()
        .add(named("two"))
        .unwrap();
    assert_eq!(registry.tool_choice(), &ToolChoice::Auto);
    assert_eq!(
        registry
            .set_tool_choice(ToolChoice::Function("three".into()))
            .unwrap_err()
            .to_string(),
        "tool_choice names \"three\", which is not a registered tool (registered: one, two)"
    );
    registry
        .set_tool_choice(ToolChoice::Function("two".into()))
        .unwrap();
    assert_eq!(registry.tool_choice(), &ToolChoice::Function("two".into()));
    registry.set_tool_choice(ToolChoice::Required).unwrap();
    assert_eq!(registry.tool_choice(), &ToolChoice::Required);
}

/// A registered tool is shared with the loop through its `Arc` and runs from there.
#[tokio::test]
async fn registered_tool_runs_through_its_arc() {
    let mut registry = ToolRegistry::new();
    registry.add(named("runner")).unwrap();
    let tool = registry.get("runner").unwrap().tool().clone();
    let ctx = realtime_agent::tool::ToolContext::standalone("call_1");
    assert_eq!(tool.call_json("{}", ctx).await.unwrap(), "done");
}
