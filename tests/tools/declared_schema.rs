//! Declared tools' specs from TOML, their schema checks at load, and argument validation before
//! anything runs (through a command tool running `/bin/cat`, which echoes the stdin JSON).

use realtime_agent::tool::{DeclaredToolSpec, DynTool, OnInterrupt, ToolContext, ToolError};
use serde_json::json;

fn spec(toml_text: &str) -> DeclaredToolSpec {
    toml::from_str(toml_text).unwrap_or_else(|error| panic!("{error}"))
}

/// The build error of a `cat` tool with this `[parameters]` table.
fn schema_error(parameters: &str) -> String {
    let text = format!(
        "kind = \"command\"\nname = \"cat\"\nprogram = \"/bin/cat\"\n[parameters]\n{parameters}"
    );
    spec(&text).build().unwrap_err().to_string()
}

fn cat_tool(parameters: &str) -> std::sync::Arc<dyn DynTool> {
    let text = format!(
        "kind = \"command\"\nname = \"cat\"\nprogram = \"/bin/cat\"\n[parameters]\n{parameters}"
    );
    spec(&text).build().unwrap()
}

async fn invalid(tool: &dyn DynTool, arguments: &str) -> String {
    match tool
        .call_json(arguments, ToolContext::standalone("call_1"))
        .await
    {
        Err(ToolError::InvalidArguments { message }) => message,
        other => panic!("expected invalid arguments, got {other:?}"),
    }
}

const WEATHER: &str = r#"
type = "object"
required = ["city", "days"]
additionalProperties = false
properties.city = { type = "string", minLength = 2, maxLength = 20 }
properties.unit = { type = "string", enum = ["celsius", "fahrenheit"] }
properties.days = { type = "integer", minimum = 1, maximum = 7 }
properties.ratio = { type = "number" }
properties.tags = { type = "array", maxItems = 2, items = { type = "string" } }
properties.where = { type = "object", required = ["lat"], properties.lat = { type = "number" } }
"#;

/// Valid arguments reach the program unchanged (as JSON on stdin); a null optional is absent.
#[tokio::test]
async fn valid_arguments_pass() {
    let tool = cat_tool(WEATHER);
    let arguments =
        r#"{"city":"Paris","days":3,"unit":null,"ratio":0.5,"tags":["a"],"where":{"lat":1}}"#;
    let output = tool
        .call_json(arguments, ToolContext::standalone("call_1"))
        .await
        .unwrap();
    let echoed: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(
        echoed,
        json!({"city":"Paris","days":3,"unit":null,"ratio":0.5,"tags":["a"],"where":{"lat":1}})
    );
}

/// Each kind of mismatch names its field; all problems are listed together.
#[tokio::test]
async fn mismatches_name_their_fields() {
    let tool = cat_tool(WEATHER);
    assert_eq!(
        invalid(
            tool.as_ref(),
            r#"{"city":"Paris","days":3,"unit":"kelvin"}"#
        )
        .await,
        r#"field "unit": expected one of "celsius", "fahrenheit", got "kelvin""#
    );
    assert_eq!(
        invalid(tool.as_ref(), r#"{"city":"P","days":1.5}"#).await,
        r#"field "city": expected at least 2 characters, got 1; field "days": expected integer, got 1.5"#
    );
    assert_eq!(
        invalid(tool.as_ref(), r#"{"city":"Paris","days":9,"extra":true}"#).await,
        r#"field "days": 9 is greater than the maximum 7; unknown field "extra" (expected one of "city", "days", "ratio", "tags", "unit", "where")"#
    );
    assert_eq!(
        invalid(tool.as_ref(), r#"{"days":0,"tags":["a","b",3],"where":{}}"#).await,
        r#"missing field "city"; field "days": 0 is less than the minimum 1; field "tags": expected at most 2 items, got 3; field "tags[2]": expected string, got 3; missing field "where.lat""#
    );
    assert_eq!(
        invalid(tool.as_ref(), r#"{"city":"Paris","days":"3"}"#).await,
        r#"field "days": expected integer, got "3""#
    );
    assert_eq!(
        invalid(tool.as_ref(), r#"["Paris"]"#).await,
        "the arguments must be a JSON object, got an array"
    );
    assert_eq!(
        invalid(tool.as_ref(), r#"{"city": "Paris""#).await,
        "not valid JSON: EOF while parsing an object at line 1 column 16"
    );
}

/// Bad declared schemas are refused at load, naming the key.
#[test]
fn bad_schemas_are_refused_at_load() {
    assert_eq!(
        schema_error("type = \"array\""),
        "tool \"cat\": `parameters.type`: the top level of `parameters` must be `type = \"object\"`: \
         the model passes its arguments as one JSON object"
    );
    assert_eq!(
        schema_error("type = \"object\"\nproperties.n = { type = \"int\" }"),
        "tool \"cat\": `parameters.properties.n.type`: unknown type \"int\" (expected string, \
         integer, number, boolean, array, object or null)"
    );
    assert_eq!(
        schema_error("type = \"object\"\nproperties.s = { type = \"string\", pattern = \"^a\" }"),
        "tool \"cat\": `parameters.properties.s.pattern`: unsupported schema keyword `pattern` \
         (supported: type, properties, required, additionalProperties, enum, items, minimum, \
         maximum, minLength, maxLength, minItems, maxItems, description, title, default, examples)"
    );
    assert_eq!(
        schema_error("type = \"object\"\nrequired = [\"city\"]"),
        "tool \"cat\": `parameters.required`: `required` lists \"city\", which is not in `properties`"
    );
    assert_eq!(
        schema_error("type = \"object\"\nproperties.u = { type = \"string\", enum = [\"c\", 1] }"),
        "tool \"cat\": `parameters.properties.u.enum`: the value 1 is not of this schema's type string"
    );
    assert_eq!(
        schema_error("type = \"object\"\nproperties.n = { type = \"integer\", minLength = 1 }"),
        "tool \"cat\": `parameters.properties.n.minLength`: `minLength` applies to strings, but this \
         schema's type is integer"
    );
    assert_eq!(
        schema_error(
            "type = \"object\"\nproperties.n = { type = \"integer\", minimum = 5, maximum = 1 }"
        ),
        "tool \"cat\": `parameters.properties.n.minimum`: `minimum` (5) is greater than `maximum` (1)"
    );
    assert_eq!(
        schema_error("type = \"object\"\nproperties.n = { description = \"no type\" }"),
        "tool \"cat\": `parameters.properties.n`: a schema needs a `type` (string, integer, number, \
         boolean, array, object or null) or an `enum`"
    );
    assert_eq!(
        schema_error(
            "type = \"object\"\nproperties.l = { type = \"array\", items = { type = \"object\", properties.x = { type = \"strin\" } } }"
        ),
        "tool \"cat\": `parameters.properties.l.items.properties.x.type`: unknown type \"strin\" \
         (expected string, integer, number, boolean, array, object or null)"
    );
}

/// The spec tables reject unknown keys and an unknown kind; defaults fill the rest.
#[test]
fn spec_tables_are_strict() {
    let unknown_key = toml::from_str::<DeclaredToolSpec>(
        "kind = \"command\"\nname = \"a\"\nprogram = \"x\"\nprogramme = \"y\"",
    )
    .unwrap_err()
    .to_string();
    assert!(
        unknown_key.contains("unknown field `programme`"),
        "{unknown_key}"
    );
    let unknown_kind =
        toml::from_str::<DeclaredToolSpec>("kind = \"shell\"\nname = \"a\"\nprogram = \"x\"")
            .unwrap_err()
            .to_string();
    assert!(
        unknown_kind.contains("unknown variant `shell`, expected `command` or `http`"),
        "{unknown_kind}"
    );

    let tool = spec(
        "kind = \"command\"\nname = \"minimal\"\nprogram = \"/bin/cat\"\ntimeout = 2.5\non_interrupt = \"cancel\"",
    );
    assert_eq!(tool.name(), "minimal");
    let tool = tool.build().unwrap();
    let definition = tool.definition();
    assert_eq!(definition.description, "");
    assert_eq!(
        definition.parameters,
        json!({"type": "object", "properties": {}})
    );
    let options = tool.options();
    assert_eq!(options.timeout, std::time::Duration::from_millis(2500));
    assert_eq!(options.on_interrupt, OnInterrupt::Cancel);
    assert!(!options.requires_approval);
}

/// The declared schema is sent to the API as written; `confirm` is `requires_approval`.
#[test]
fn declared_definition_is_the_declared_schema() {
    let tool = spec(&format!(
        "kind = \"command\"\nname = \"w\"\ndescription = \"Weather\"\nprogram = \"/bin/cat\"\nconfirm = true\n[parameters]\n{WEATHER}"
    ))
    .build()
    .unwrap();
    let definition = tool.definition();
    assert_eq!(definition.description, "Weather");
    assert_eq!(
        definition.parameters["properties"]["days"],
        json!({"type": "integer", "minimum": 1, "maximum": 7})
    );
    assert_eq!(definition.parameters["required"], json!(["city", "days"]));
    assert!(tool.options().requires_approval);
}

/// A bad name or timeout is refused at load, naming the key.
#[test]
fn bad_name_and_timeout_are_refused() {
    let error = spec("kind = \"command\"\nname = \"two words\"\nprogram = \"/bin/cat\"")
        .build()
        .unwrap_err();
    assert_eq!(error.key, "name");
    assert_eq!(
        error.to_string(),
        "tool \"two words\": `name`: invalid tool name \"two words\": ' ' is not allowed; use only \
         ASCII letters, digits, '_' and '-'"
    );
    let error = spec("kind = \"command\"\nname = \"t\"\nprogram = \"/bin/cat\"\ntimeout = 0")
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "tool \"t\": `timeout`: 0 is not a timeout: give seconds above 0, at most 86400"
    );
}

/// `filler_after_ms` becomes the tool's filler delay; zero is refused, naming the key.
#[test]
fn filler_after_ms_is_read_and_checked() {
    let tool =
        spec("kind = \"command\"\nname = \"t\"\nprogram = \"/bin/cat\"\nfiller_after_ms = 800")
            .build()
            .unwrap();
    assert_eq!(
        tool.options().filler_after,
        Some(std::time::Duration::from_millis(800))
    );
    let quiet = spec("kind = \"command\"\nname = \"t\"\nprogram = \"/bin/cat\"")
        .build()
        .unwrap();
    assert_eq!(quiet.options().filler_after, None);
    let error =
        spec("kind = \"command\"\nname = \"t\"\nprogram = \"/bin/cat\"\nfiller_after_ms = 0")
            .build()
            .unwrap_err();
    assert_eq!(
        error.to_string(),
        "tool \"t\": `filler_after_ms`: 0 is not a filler delay: give milliseconds above 0, at \
         most 600000"
    );
}
