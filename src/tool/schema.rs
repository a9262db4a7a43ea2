//! Parameters schemas shaped the way the Realtime API accepts them.
//!
//! [`parameters_for`] generates the schema of an argument type with schemars and reshapes it:
//!
//! - the top level is `{"type":"object","properties":{…}}`, with `required` when some field is;
//!   a unit struct or `()` (a tool without arguments) becomes `{"type":"object","properties":{}}`;
//! - nested types are inlined: no `$ref`, `$schema`, `$defs`/`definitions`;
//! - no `title`: a doc comment's title paragraph is kept in `description`;
//! - an `Option<T>` field is not in `required` and is described as plain `T`, without a `null`
//!   alternative: the model leaves the field out rather than sending `null` (serde accepts both);
//! - an enum of unit variants is `{"type":"string","enum":[…]}`; the variants' doc comments, when
//!   there are any, are appended to the description as `- variant: doc` lines;
//! - the `format` schemars puts on numbers (`int32`, `uint8`, `double`, …) is dropped: it is not
//!   a JSON Schema format and says nothing `minimum`/`maximum` do not.
//!
//! [`reshape`] applies the same steps to a schema written elsewhere (an MCP server's), inlining
//! its local `$ref`s first.
//!
//! A recursive argument type cannot be inlined; it keeps a `$ref`, and
//! [`check_function_parameters`] (run by the registry) refuses it with a clear error.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// The Realtime-shaped parameters schema of `T`.
pub fn parameters_for<T: JsonSchema + ?Sized>() -> Value {
    let settings = SchemaSettings::draft2020_12().with(|settings| {
        settings.inline_subschemas = true;
        settings.meta_schema = None;
    });
    let mut generator = settings.into_generator();
    // `subschema_for` (unlike `root_schema_for`) adds no title and no `$schema`.
    let mut schema = generator.subschema_for::<T>().to_value();
    shape(&mut schema);
    shape_top_level(&mut schema);
    schema
}

/// A schema from elsewhere (an MCP server's `inputSchema`) shaped the same way: local `$ref`s to
/// `$defs`/`definitions` are inlined first (a recursive one stays, and
/// [`check_function_parameters`] refuses it), then every step above applies.
pub fn reshape(mut schema: Value) -> Value {
    let definitions = match &schema {
        Value::Object(map) => map
            .get("$defs")
            .or_else(|| map.get("definitions"))
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    if let Value::Object(definitions) = definitions {
        inline_refs(&mut schema, &definitions, &mut Vec::new());
    }
    shape(&mut schema);
    shape_top_level(&mut schema);
    schema
}

/// Replaces `{"$ref":"#/$defs/X", …}` with the definition of `X` (siblings of the `$ref` win).
/// `stack` holds the definitions being inlined, so a recursive one is left as a `$ref`.
fn inline_refs(value: &mut Value, definitions: &Map<String, Value>, stack: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let target = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|reference| {
                    reference
                        .strip_prefix("#/$defs/")
                        .or_else(|| reference.strip_prefix("#/definitions/"))
                        .map(str::to_owned)
                });
            if let Some(name) = target {
                if let (Some(Value::Object(definition)), false) =
                    (definitions.get(&name), stack.contains(&name))
                {
                    map.remove("$ref");
                    for (key, inner) in definition {
                        map.entry(key.clone()).or_insert_with(|| inner.clone());
                    }
                    stack.push(name);
                    for inner in map.values_mut() {
                        inline_refs(inner, definitions, stack);
                    }
                    stack.pop();
                    return;
                }
            }
            for (key, inner) in map.iter_mut() {
                if key != "$defs" && key != "definitions" {
                    inline_refs(inner, definitions, stack);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| inline_refs(item, definitions, stack)),
        _ => {}
    }
}

/// Checks that `parameters` is a schema the Realtime API accepts for a function: an object
/// schema with no `$ref` left in it.
pub fn check_function_parameters(parameters: &Value) -> Result<(), String> {
    let Some(object) = parameters.as_object() else {
        return Err(format!(
            "the schema must be a JSON object, not {parameters}"
        ));
    };
    if object.get("type") != Some(&Value::from("object")) {
        return Err(match object.get("type") {
            Some(kind) => format!(
                "the top level must be {{\"type\":\"object\"}} (an argument struct), not type {kind}"
            ),
            None => "the top level must be {\"type\":\"object\"} (an argument struct)".to_owned(),
        });
    }
    if contains_ref(parameters) {
        return Err("the schema holds a \"$ref\" (a recursive argument type?); \
                    the Realtime API needs every definition inlined"
            .to_owned());
    }
    Ok(())
}

fn contains_ref(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key("$ref") || map.values().any(contains_ref),
        Value::Array(items) => items.iter().any(contains_ref),
        _ => false,
    }
}

/// The top level always has `properties`; a unit type becomes an empty object.
fn shape_top_level(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if map.get("type") == Some(&Value::from("null")) {
        map.insert("type".into(), "object".into());
    }
    if map.get("type") == Some(&Value::from("object")) && !map.contains_key("properties") {
        map.insert("properties".into(), Value::Object(Map::new()));
    }
}

/// Reshapes one schema node and its subschemas.
fn shape(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    map.remove("$schema");
    map.remove("$defs");
    map.remove("definitions");
    // Before the children are shaped, so that an `Option<Enum>`'s variants are seen as variants.
    unwrap_nullable_alternative(map);
    // Children first, so that the node-level steps below see shaped alternatives.
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "items" | "additionalProperties" | "not" | "contains" => shape(value),
            "properties" | "patternProperties" => {
                if let Value::Object(properties) = value {
                    properties.values_mut().for_each(shape);
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(alternatives) = value {
                    alternatives.iter_mut().for_each(shape);
                }
            }
            _ => {}
        }
    }
    merge_title_into_description(map);
    strip_null_type(map);
    string_consts_to_enum(map);
    drop_number_format(map);
}

/// `{"title":"A place.","description":"More."}` → `{"description":"A place.\n\nMore."}`.
fn merge_title_into_description(map: &mut Map<String, Value>) {
    let Some(Value::String(title)) = map.remove("title") else {
        return;
    };
    let description = match map.get("description").and_then(Value::as_str) {
        Some(description) => format!("{title}\n\n{description}"),
        None => title,
    };
    map.insert("description".into(), description.into());
}

/// `{"anyOf":[S,{"type":"null"}]}` (an `Option` of a non-trivial type) → `S`. The outer
/// description (the field's doc comment) wins over `S`'s own title and description.
fn unwrap_nullable_alternative(map: &mut Map<String, Value>) {
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(alternatives)) = map.get(key) else {
            continue;
        };
        let non_null: Vec<&Value> = alternatives.iter().filter(|s| !is_null_schema(s)).collect();
        if alternatives.len() != 2 || non_null.len() != 1 {
            continue;
        }
        let Value::Object(inner) = non_null[0].clone() else {
            continue;
        };
        map.remove(key);
        let outer_described = map.contains_key("description");
        for (inner_key, inner_value) in inner {
            if outer_described && matches!(inner_key.as_str(), "title" | "description") {
                continue;
            }
            map.entry(inner_key).or_insert(inner_value);
        }
        return;
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type") == Some(&Value::from("null"))
        && schema.as_object().is_some_and(|m| m.len() == 1)
}

/// `{"type":["string","null"],"enum":["a",null]}` → `{"type":"string","enum":["a"]}`.
fn strip_null_type(map: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
}

/// `{"oneOf":[{"const":"a","description":"A"},{"const":"b"}]}` (unit variants with doc
/// comments) → `{"type":"string","enum":["a","b"],"description":"…\n- a: A"}`; a lone
/// `{"const":"a"}` → `{"type":"string","enum":["a"]}`.
fn string_consts_to_enum(map: &mut Map<String, Value>) {
    if let Some(Value::String(constant)) = map.get("const") {
        let constant = constant.clone();
        map.remove("const");
        map.insert("type".into(), "string".into());
        map.insert("enum".into(), Value::Array(vec![constant.into()]));
        return;
    }
    let Some(Value::Array(variants)) = map.get("oneOf") else {
        return;
    };
    let mut names = Vec::with_capacity(variants.len());
    let mut documented = Vec::new();
    for variant in variants {
        let Some(name) = string_const(variant) else {
            return;
        };
        if let Some(doc) = variant.get("description").and_then(Value::as_str) {
            documented.push(format!("- {name}: {doc}"));
        }
        names.push(Value::from(name));
    }
    map.remove("oneOf");
    map.insert("type".into(), "string".into());
    map.insert("enum".into(), Value::Array(names));
    if !documented.is_empty() {
        let lines = documented.join("\n");
        let description = match map.get("description").and_then(Value::as_str) {
            Some(description) => format!("{description}\n{lines}"),
            None => lines,
        };
        map.insert("description".into(), description.into());
    }
}

/// The value of a `{"const":"x"}` or `{"enum":["x"]}` string schema (type and description
/// allowed alongside, nothing else).
fn string_const(schema: &Value) -> Option<&str> {
    let map = schema.as_object()?;
    let value = match (map.get("const"), map.get("enum")) {
        (Some(constant), None) => constant.as_str()?,
        (None, Some(Value::Array(values))) if values.len() == 1 => values[0].as_str()?,
        _ => return None,
    };
    let allowed = |key: &String| matches!(key.as_str(), "const" | "enum" | "type" | "description");
    let type_ok = map.get("type").is_none_or(|t| t == "string");
    (map.keys().all(allowed) && type_ok).then_some(value)
}

fn drop_number_format(map: &mut Map<String, Value>) {
    let numeric = matches!(
        map.get("type").and_then(Value::as_str),
        Some("integer" | "number")
    );
    if numeric {
        map.remove("format");
    }
}
