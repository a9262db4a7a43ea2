//! Turning the model's arguments text into a typed value, with errors that name the field.

use serde::de::DeserializeOwned;

use super::ToolError;

/// Parses `arguments` into `T`; an error names the field, e.g.
/// `invalid arguments: field "unit": unknown variant "kelvin", expected "celsius" or "fahrenheit"`.
///
/// Empty arguments count as `{}` (the API sends an empty string for some argument-less calls),
/// and `{}` also fits a unit struct or `()`, whose schema is an empty object.
pub(crate) fn parse<T: DeserializeOwned>(arguments: &str) -> Result<T, ToolError> {
    let text = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let first_error = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => match deserializer.end() {
            Ok(()) => return Ok(value),
            Err(error) => return Err(syntax_error(&error)),
        },
        Err(error) => error,
    };
    if is_empty_object(text)
        && let Ok(value) = serde_json::from_value(serde_json::Value::Null)
    {
        return Ok(value);
    }
    Err(describe(&first_error))
}

/// The model-facing message for a deserialization error, with its path.
fn describe(error: &serde_path_to_error::Error<serde_json::Error>) -> ToolError {
    let inner = error.inner();
    if inner.is_syntax() || inner.is_eof() {
        return syntax_error(inner);
    }
    let message = quote_names(&without_position(inner));
    let path = error.path().to_string();
    if path == "." {
        ToolError::invalid_arguments(message)
    } else {
        ToolError::invalid_arguments(format!("field \"{path}\": {message}"))
    }
}

/// Arguments that are not JSON at all: the position helps the model find the fault.
fn syntax_error(error: &serde_json::Error) -> ToolError {
    ToolError::invalid_arguments(format!(
        "not valid JSON: {}",
        quote_names(&error.to_string())
    ))
}

/// serde_json's message without its `at line 1 column 17` suffix, which the field path replaces.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// serde quotes names with backticks; the model reads JSON, so use double quotes.
fn quote_names(message: &str) -> String {
    message.replace('`', "\"")
}

fn is_empty_object(text: &str) -> bool {
    matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(map)) if map.is_empty()
    )
}
