//! The parameters schemas generated from argument types, compared as exact JSON.

use realtime_agent::tool::schema::{check_function_parameters, parameters_for};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// Temperature unit.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Unit {
    /// Degrees Celsius.
    Celsius,
    /// Degrees Fahrenheit.
    Fahrenheit,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum Detail {
    Brief,
    Full,
}

/// A place on Earth.
///
/// Cities are matched by name.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Place {
    /// The city name.
    city: String,
    /// ISO country code.
    country: Option<String>,
}

/// Weather lookup.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct WeatherArgs {
    /// Where to look.
    place: Place,
    /// A second place to compare with.
    compare_with: Option<Place>,
    /// The unit of the answer.
    unit: Unit,
    /// Unit for the comparison.
    other_unit: Option<Unit>,
    detail: Detail,
    maybe_detail: Option<Detail>,
    /// Days ahead, 0 is today.
    days: Vec<u8>,
    limit: Option<i64>,
    threshold: f64,
    tags: Option<Vec<String>>,
}

/// Nested structs are inlined, options are not required and carry no null, enums are string
/// enums (with variant docs in the description), no `$ref`, `$schema`, `title` or number `format`.
#[test]
fn weather_args_schema_is_realtime_shaped() {
    let place = json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city name."},
            "country": {"type": "string", "description": "ISO country code."}
        },
        "required": ["city"]
    });
    let mut compare_with = place.clone();
    compare_with["description"] = json!("A second place to compare with.");
    let mut place_field = place.clone();
    place_field["description"] = json!("Where to look.");
    assert_eq!(
        parameters_for::<WeatherArgs>(),
        json!({
            "type": "object",
            "description": "Weather lookup.",
            "properties": {
                "place": place_field,
                "compare_with": compare_with,
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "description": "The unit of the answer.\n- celsius: Degrees Celsius.\n- fahrenheit: Degrees Fahrenheit."
                },
                "other_unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "description": "Unit for the comparison.\n- celsius: Degrees Celsius.\n- fahrenheit: Degrees Fahrenheit."
                },
                "detail": {"type": "string", "enum": ["brief", "full"]},
                "maybe_detail": {"type": "string", "enum": ["brief", "full"]},
                "days": {
                    "type": "array",
                    "description": "Days ahead, 0 is today.",
                    "items": {"type": "integer", "minimum": 0, "maximum": 255}
                },
                "limit": {"type": "integer"},
                "threshold": {"type": "number"},
                "tags": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["place", "unit", "detail", "days", "threshold"]
        })
    );
}

/// A struct's doc title paragraph is kept, joined to the rest of its description.
#[test]
fn doc_title_is_merged_into_description() {
    assert_eq!(
        parameters_for::<Place>(),
        json!({
            "type": "object",
            "description": "A place on Earth.\n\nCities are matched by name.",
            "properties": {
                "city": {"type": "string", "description": "The city name."},
                "country": {"type": "string", "description": "ISO country code."}
            },
            "required": ["city"]
        })
    );
}

#[derive(Deserialize, JsonSchema)]
struct NoArgs;

#[derive(Deserialize, JsonSchema)]
struct EmptyBraces {}

/// A tool without arguments has an empty object schema, whatever its argument type.
#[test]
fn argument_less_tools_have_an_empty_object_schema() {
    let empty = json!({"type": "object", "properties": {}});
    assert_eq!(parameters_for::<NoArgs>(), empty);
    assert_eq!(parameters_for::<EmptyBraces>(), empty);
    assert_eq!(parameters_for::<()>(), empty);
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Strict {
    /// Exactly one mode.
    mode: Mode,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
enum Mode {
    Only,
}

/// `deny_unknown_fields` stays `additionalProperties: false`; a one-variant enum is a one-value
/// string enum.
#[test]
fn strict_struct_and_single_variant_enum() {
    assert_eq!(
        parameters_for::<Strict>(),
        json!({
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": ["Only"], "description": "Exactly one mode."}
            },
            "required": ["mode"],
            "additionalProperties": false
        })
    );
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Tree {
    children: Vec<Tree>,
}

/// A recursive type cannot be inlined: its schema keeps a `$ref`, which the check refuses.
#[test]
fn recursive_type_is_refused_by_the_check() {
    let schema = parameters_for::<Tree>();
    assert_eq!(
        check_function_parameters(&schema).unwrap_err(),
        "the schema holds a \"$ref\" (a recursive argument type?); the Realtime API needs every \
         definition inlined"
    );
}

/// A schema that is not an object at the top level is refused, naming its type.
#[test]
fn non_object_top_level_is_refused_by_the_check() {
    assert_eq!(
        check_function_parameters(&parameters_for::<Vec<String>>()).unwrap_err(),
        "the top level must be {\"type\":\"object\"} (an argument struct), not type \"array\""
    );
    assert_eq!(
        check_function_parameters(&parameters_for::<WeatherArgs>()),
        Ok(())
    );
}

/// An `Option` of a struct with a doc title takes the field's doc, not the struct's.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct OptionalPlace {
    /// Where, if anywhere.
    place: Option<Place>,
}

/// The field's doc comment replaces the optional struct's title and description.
#[test]
fn optional_struct_takes_the_field_description() {
    assert_eq!(
        parameters_for::<OptionalPlace>()["properties"]["place"]["description"],
        json!("Where, if anywhere.")
    );
}
