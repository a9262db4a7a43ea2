//! Compiling a declared schema: every keyword checked, with the key path of any problem.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Additional, Kind, Node, SchemaProblem, kinds_text, problem};

const SUPPORTED: &str = "type, properties, required, additionalProperties, enum, items, minimum, \
                         maximum, minLength, maxLength, minItems, maxItems, description, title, \
                         default, examples";

pub(super) fn compile_node(schema: &Value, key: &str) -> Result<Node, SchemaProblem> {
    let Value::Object(map) = schema else {
        return Err(problem(
            key,
            format!("a schema must be a table, not {schema}"),
        ));
    };
    for name in map.keys() {
        let known = SUPPORTED.split(", ").any(|supported| supported == name);
        if !known {
            return Err(problem(
                format!("{key}.{name}"),
                format!("unsupported schema keyword `{name}` (supported: {SUPPORTED})"),
            ));
        }
    }
    let kinds = compile_kinds(map, key)?;
    let allowed = compile_enum(map, key, &kinds)?;
    if kinds.is_empty() && allowed.is_none() {
        return Err(problem(
            key,
            "a schema needs a `type` (string, integer, number, boolean, array, object or null) \
             or an `enum`",
        ));
    }
    let applies = |kind: Kind| kinds.is_empty() || kinds.contains(&kind);
    let object_only = ["properties", "required", "additionalProperties"];
    let array_only = ["items", "minItems", "maxItems"];
    let string_only = ["minLength", "maxLength"];
    let number_only = ["minimum", "maximum"];
    for (names, fits, what) in [
        (&object_only[..], applies(Kind::Object), "objects"),
        (&array_only[..], applies(Kind::Array), "arrays"),
        (&string_only[..], applies(Kind::String), "strings"),
        (
            &number_only[..],
            applies(Kind::Integer) || applies(Kind::Number),
            "numbers",
        ),
    ] {
        if let Some(name) = names.iter().find(|name| map.contains_key(**name))
            && !fits
        {
            return Err(problem(
                format!("{key}.{name}"),
                format!(
                    "`{name}` applies to {what}, but this schema's type is {}",
                    kinds_text(&kinds)
                ),
            ));
        }
    }

    let mut properties = BTreeMap::new();
    if let Some(value) = map.get("properties") {
        let Value::Object(entries) = value else {
            return Err(problem(
                format!("{key}.properties"),
                "`properties` must be a table of schemas",
            ));
        };
        for (name, subschema) in entries {
            let node = compile_node(subschema, &format!("{key}.properties.{name}"))?;
            properties.insert(name.clone(), node);
        }
    }
    let required = compile_required(map, key, &properties)?;
    let additional = match map.get("additionalProperties") {
        None | Some(Value::Bool(true)) => Additional::Any,
        Some(Value::Bool(false)) => Additional::None,
        Some(subschema) => Additional::Schema(Box::new(compile_node(
            subschema,
            &format!("{key}.additionalProperties"),
        )?)),
    };
    let items = match map.get("items") {
        None => None,
        Some(subschema) => Some(Box::new(compile_node(subschema, &format!("{key}.items"))?)),
    };
    let minimum = number_keyword(map, key, "minimum")?;
    let maximum = number_keyword(map, key, "maximum")?;
    if let (Some(low), Some(high)) = (minimum, maximum)
        && low > high
    {
        return Err(problem(
            format!("{key}.minimum"),
            format!("`minimum` ({low}) is greater than `maximum` ({high})"),
        ));
    }
    let min_length = count_keyword(map, key, "minLength")?;
    let max_length = count_keyword(map, key, "maxLength")?;
    let min_items = count_keyword(map, key, "minItems")?;
    let max_items = count_keyword(map, key, "maxItems")?;
    for (low, high, low_name, high_name) in [
        (min_length, max_length, "minLength", "maxLength"),
        (min_items, max_items, "minItems", "maxItems"),
    ] {
        if let (Some(low), Some(high)) = (low, high)
            && low > high
        {
            return Err(problem(
                format!("{key}.{low_name}"),
                format!("`{low_name}` ({low}) is greater than `{high_name}` ({high})"),
            ));
        }
    }
    Ok(Node {
        kinds,
        allowed,
        properties,
        required,
        additional,
        items,
        minimum,
        maximum,
        min_length,
        max_length,
        min_items,
        max_items,
    })
}

fn compile_kinds(map: &Map<String, Value>, key: &str) -> Result<Vec<Kind>, SchemaProblem> {
    let key = format!("{key}.type");
    let unknown = |name: &str| {
        problem(
            key.as_str(),
            format!(
                "unknown type {name:?} (expected string, integer, number, boolean, array, \
                 object or null)"
            ),
        )
    };
    match map.get("type") {
        None => Ok(Vec::new()),
        Some(Value::String(name)) => Ok(vec![Kind::parse(name).ok_or_else(|| unknown(name))?]),
        Some(Value::Array(names)) if !names.is_empty() => names
            .iter()
            .map(|name| {
                let name = name
                    .as_str()
                    .ok_or_else(|| problem(key.as_str(), "`type` must list type names"))?;
                Kind::parse(name).ok_or_else(|| unknown(name))
            })
            .collect(),
        Some(other) => Err(problem(
            key.as_str(),
            format!("`type` must be a type name or a list of them, not {other}"),
        )),
    }
}

fn compile_enum(
    map: &Map<String, Value>,
    key: &str,
    kinds: &[Kind],
) -> Result<Option<Vec<Value>>, SchemaProblem> {
    let Some(value) = map.get("enum") else {
        return Ok(None);
    };
    let key = format!("{key}.enum");
    let Value::Array(values) = value else {
        return Err(problem(key, "`enum` must be a list of values"));
    };
    if values.is_empty() {
        return Err(problem(key, "`enum` must list at least one value"));
    }
    if let Some(stray) = values
        .iter()
        .find(|value| !kinds.is_empty() && !kinds.iter().any(|kind| kind.matches(value)))
    {
        return Err(problem(
            key,
            format!(
                "the value {stray} is not of this schema's type {}",
                kinds_text(kinds)
            ),
        ));
    }
    Ok(Some(values.clone()))
}

fn compile_required(
    map: &Map<String, Value>,
    key: &str,
    properties: &BTreeMap<String, Node>,
) -> Result<Vec<String>, SchemaProblem> {
    let Some(value) = map.get("required") else {
        return Ok(Vec::new());
    };
    let key = format!("{key}.required");
    let Value::Array(names) = value else {
        return Err(problem(key, "`required` must be a list of property names"));
    };
    names
        .iter()
        .map(|name| {
            let name = name.as_str().ok_or_else(|| {
                problem(
                    key.as_str(),
                    format!("`required` lists {name}, which is not a property name"),
                )
            })?;
            if !properties.contains_key(name) {
                return Err(problem(
                    key.as_str(),
                    format!("`required` lists {name:?}, which is not in `properties`"),
                ));
            }
            Ok(name.to_owned())
        })
        .collect()
}

fn number_keyword(
    map: &Map<String, Value>,
    key: &str,
    name: &str,
) -> Result<Option<f64>, SchemaProblem> {
    match map.get(name) {
        None => Ok(None),
        Some(value) => value.as_f64().map(Some).ok_or_else(|| {
            problem(
                format!("{key}.{name}"),
                format!("`{name}` must be a number, not {value}"),
            )
        }),
    }
}

fn count_keyword(
    map: &Map<String, Value>,
    key: &str,
    name: &str,
) -> Result<Option<u64>, SchemaProblem> {
    match map.get(name) {
        None => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or_else(|| {
            problem(
                format!("{key}.{name}"),
                format!("`{name}` must be a whole number of at least 0, not {value}"),
            )
        }),
    }
}
