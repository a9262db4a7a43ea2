//! Validating arguments against a compiled schema, naming each problem's field.

use serde_json::{Map, Value};

use super::{Additional, Node, kinds_text};

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
pub(super) fn describe(value: &Value) -> String {
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

pub(super) fn check(node: &Node, value: &Value, path: &str, problems: &mut Vec<String>) {
    if !node.kinds.is_empty() && !node.kinds.iter().any(|kind| kind.matches(value)) {
        problems.push(format!(
            "{}expected {}, got {}",
            at(path),
            kinds_text(&node.kinds),
            describe(value)
        ));
        return;
    }
    if let Some(allowed) = &node.allowed
        && !allowed.contains(value)
    {
        let choices: Vec<String> = allowed.iter().map(Value::to_string).collect();
        problems.push(format!(
            "{}expected one of {}, got {}",
            at(path),
            choices.join(", "),
            describe(value)
        ));
        return;
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
