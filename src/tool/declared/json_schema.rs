//! A small JSON Schema validator for the subset a declared tool's `parameters` table uses.
//!
//! Supported: `type` (one name or a list; `integer` is a whole number, `number` any number),
//! `properties`, `required`, `additionalProperties` (`false` or a schema), `enum`, `items`,
//! `minimum`/`maximum`, `minLength`/`maxLength` (in characters), `minItems`/`maxItems`, nested to
//! any depth, and the annotations `description`, `title`, `default`, `examples`. Any other
//! keyword is refused when the schema is compiled: a keyword that were silently ignored would let
//! arguments through that the author meant to stop.
//!
//! A property that is not `required` may be `null`; it counts as absent.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// At most this many problems are listed for one call's arguments.
const MAX_REPORTED: usize = 10;

/// The JSON types a schema can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "null" => Kind::Null,
            "boolean" => Kind::Boolean,
            "integer" => Kind::Integer,
            "number" => Kind::Number,
            "string" => Kind::String,
            "array" => Kind::Array,
            "object" => Kind::Object,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }

    /// Whether `value` is of this type. An integer is a number; `1.0` is not an integer, so
    /// that what reaches a program's argv is what the schema promised.
    fn matches(self, value: &Value) -> bool {
        match self {
            Kind::Null => value.is_null(),
            Kind::Boolean => value.is_boolean(),
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Number => value.is_number(),
            Kind::String => value.is_string(),
            Kind::Array => value.is_array(),
            Kind::Object => value.is_object(),
        }
    }
}

/// What `additionalProperties` allows.
#[derive(Debug, Clone)]
enum Additional {
    Any,
    None,
    Schema(Box<Node>),
}

/// One compiled schema.
#[derive(Debug, Clone)]
struct Node {
    /// Empty means any type.
    kinds: Vec<Kind>,
    allowed: Option<Vec<Value>>,
    properties: BTreeMap<String, Node>,
    required: Vec<String>,
    additional: Additional,
    items: Option<Box<Node>>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
}

impl Node {
    fn accepts_null(&self) -> bool {
        if self.kinds.is_empty() {
            self.allowed
                .as_ref()
                .is_some_and(|values| values.contains(&Value::Null))
        } else {
            self.kinds.contains(&Kind::Null)
        }
    }
}

/// A problem with a declared schema: where (a dotted key path under `parameters`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaProblem {
    /// e.g. `parameters.properties.unit.enum`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// A compiled `parameters` schema, ready to validate arguments.
#[derive(Debug, Clone)]
pub(crate) struct ParametersSchema {
    root: Node,
}

impl ParametersSchema {
    /// Compiles a declared `parameters` schema; its top level must be `{"type":"object"}`.
    pub fn compile(schema: &Value) -> Result<Self, SchemaProblem> {
        let root = compile_node(schema, "parameters")?;
        if root.kinds != [Kind::Object] {
            return Err(problem(
                "parameters.type",
                "the top level of `parameters` must be `type = \"object\"`: the model passes \
                 its arguments as one JSON object",
            ));
        }
        Ok(ParametersSchema { root })
    }

    /// Whether `name` is a declared top-level property.
    pub fn has_property(&self, name: &str) -> bool {
        self.root.properties.contains_key(name)
    }

    /// The declared top-level property names.
    pub fn property_names(&self) -> Vec<&str> {
        self.root.properties.keys().map(String::as_str).collect()
    }

    /// Checks `arguments`; the error lists the problems, each naming its field.
    pub fn validate(&self, arguments: &Value) -> Result<(), String> {
        let mut problems = Vec::new();
        if !arguments.is_object() {
            return Err(format!(
                "the arguments must be a JSON object, got {}",
                describe(arguments)
            ));
        }
        check(&self.root, arguments, "", &mut problems);
        if problems.is_empty() {
            return Ok(());
        }
        let total = problems.len();
        let mut message = problems
            .into_iter()
            .take(MAX_REPORTED)
            .collect::<Vec<_>>()
            .join("; ");
        if total > MAX_REPORTED {
            let _ = write!(message, "; and {} more", total - MAX_REPORTED);
        }
        Err(message)
    }
}

fn problem(key: impl Into<String>, message: impl Into<String>) -> SchemaProblem {
    SchemaProblem {
        key: key.into(),
        message: message.into(),
    }
}

const SUPPORTED: &str = "type, properties, required, additionalProperties, enum, items, minimum, \
                         maximum, minLength, maxLength, minItems, maxItems, description, title, \
                         default, examples";

fn compile_node(schema: &Value, key: &str) -> Result<Node, SchemaProblem> {
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
        if let Some(name) = names.iter().find(|name| map.contains_key(**name)) {
            if !fits {
                return Err(problem(
                    format!("{key}.{name}"),
                    format!(
                        "`{name}` applies to {what}, but this schema's type is {}",
                        kinds_text(&kinds)
                    ),
                ));
            }
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
    if let (Some(low), Some(high)) = (minimum, maximum) {
        if low > high {
            return Err(problem(
                format!("{key}.minimum"),
                format!("`minimum` ({low}) is greater than `maximum` ({high})"),
            ));
        }
    }
    let min_length = count_keyword(map, key, "minLength")?;
    let max_length = count_keyword(map, key, "maxLength")?;
    let min_items = count_keyword(map, key, "minItems")?;
    let max_items = count_keyword(map, key, "maxItems")?;
    for (low, high, low_name, high_name) in [
        (min_length, max_length, "minLength", "maxLength"),
        (min_items, max_items, "minItems", "maxItems"),
    ] {
        if let (Some(low), Some(high)) = (low, high) {
            if low > high {
                return Err(problem(
                    format!("{key}.{low_name}"),
                    format!("`{low_name}` ({low}) is greater than `{high_name}` ({high})"),
                ));
            }
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

fn kinds_text(kinds: &[Kind]) -> String {
    match kinds {
        [] => "any".to_owned(),
        [one] => one.name().to_owned(),
        many => many
            .iter()
            .map(|kind| kind.name())
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// `field "a.b[2]": ` (nothing at the top level).
fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("field \"{path}\": ")
    }
}

fn child_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A short rendering of a value for messages: long strings and containers are cut.
fn describe(value: &Value) -> String {
    const MAX: usize = 40;
    match value {
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        Value::String(text) if text.chars().count() > MAX => {
            let head: String = text.chars().take(MAX).collect();
            format!("{:?}…", head)
        }
        other => other.to_string(),
    }
}

fn check(node: &Node, value: &Value, path: &str, problems: &mut Vec<String>) {
    if !node.kinds.is_empty() && !node.kinds.iter().any(|kind| kind.matches(value)) {
        problems.push(format!(
            "{}expected {}, got {}",
            at(path),
            kinds_text(&node.kinds),
            describe(value)
        ));
        return;
    }
    if let Some(allowed) = &node.allowed {
        if !allowed.contains(value) {
            let choices: Vec<String> = allowed.iter().map(Value::to_string).collect();
            problems.push(format!(
                "{}expected one of {}, got {}",
                at(path),
                choices.join(", "),
                describe(value)
            ));
            return;
        }
    }
    match value {
        Value::Number(number) => check_number(node, number, path, problems),
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(min) = node.min_length.filter(|min| length < *min) {
                problems.push(format!(
                    "{}expected at least {min} characters, got {length}",
                    at(path)
                ));
            }
            if let Some(max) = node.max_length.filter(|max| length > *max) {
                problems.push(format!(
                    "{}expected at most {max} characters, got {length}",
                    at(path)
                ));
            }
        }
        Value::Array(items) => {
            let count = items.len() as u64;
            if let Some(min) = node.min_items.filter(|min| count < *min) {
                problems.push(format!(
                    "{}expected at least {min} items, got {count}",
                    at(path)
                ));
            }
            if let Some(max) = node.max_items.filter(|max| count > *max) {
                problems.push(format!(
                    "{}expected at most {max} items, got {count}",
                    at(path)
                ));
            }
            if let Some(item_schema) = &node.items {
                for (index, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{index}]"), problems);
                }
            }
        }
        Value::Object(fields) => check_object(node, fields, path, problems),
        Value::Null | Value::Bool(_) => {}
    }
}

fn check_number(node: &Node, number: &serde_json::Number, path: &str, problems: &mut Vec<String>) {
    let Some(value) = number.as_f64() else { return };
    if let Some(min) = node.minimum.filter(|min| value < *min) {
        problems.push(format!(
            "{}{number} is less than the minimum {min}",
            at(path)
        ));
    }
    if let Some(max) = node.maximum.filter(|max| value > *max) {
        problems.push(format!(
            "{}{number} is greater than the maximum {max}",
            at(path)
        ));
    }
}

fn check_object(node: &Node, fields: &Map<String, Value>, path: &str, problems: &mut Vec<String>) {
    // A `null` the property's schema does not allow counts as absent: missing when required,
    // left out when optional.
    let absent = |name: &str, property: &Node| {
        fields
            .get(name)
            .is_none_or(|value| value.is_null() && !property.accepts_null())
    };
    for name in &node.required {
        if node
            .properties
            .get(name)
            .is_some_and(|property| absent(name, property))
        {
            problems.push(format!("missing field \"{}\"", child_path(path, name)));
        }
    }
    for (name, value) in fields {
        let field_path = child_path(path, name);
        match node.properties.get(name) {
            Some(property) if absent(name, property) => {}
            Some(property) => check(property, value, &field_path, problems),
            None => match &node.additional {
                Additional::Any => {}
                Additional::Schema(schema) => check(schema, value, &field_path, problems),
                Additional::None => {
                    let known: Vec<String> = node
                        .properties
                        .keys()
                        .map(|key| format!("{key:?}"))
                        .collect();
                    let expected = if known.is_empty() {
                        "no fields are expected".to_owned()
                    } else {
                        format!("expected one of {}", known.join(", "))
                    };
                    problems.push(format!("unknown field \"{field_path}\" ({expected})"));
                }
            },
        }
    }
}
