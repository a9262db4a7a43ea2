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

use serde_json::Value;

mod compile;
mod validate;

use compile::compile_node;
use validate::{check, describe};

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
