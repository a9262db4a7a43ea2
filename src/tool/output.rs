//! The `function_call_output` text the model sees when a call fails: one place, one shape.
//!
//! Every failure is a small JSON object, `{"error":KIND,"message":TEXT}`, where `KIND` is one of
//! `invalid_arguments`, `unknown_tool`, `tool_removed`, `tool_error`, `panic`, `timeout`,
//! `cancelled` and `rejected`, and `TEXT` tells the model what happened in words it can act on (fix the
//! arguments, pick another tool, tell the user). Detail meant for the operator (error source
//! chains, panic payloads) goes to `tracing`, not to the model.

use std::any::Any;
use std::time::Duration;

use serde_json::json;

use super::ToolError;

/// The output for arguments that were not JSON or did not match the schema.
pub fn invalid_arguments(tool: &str, message: &str) -> String {
    render(
        "invalid_arguments",
        &format!("{tool} was not run: invalid arguments: {message}"),
    )
}

/// The output for a call to a function that is not registered, listing those that are.
pub fn unknown_tool(name: &str, available: &[&str]) -> String {
    let message = if available.is_empty() {
        format!("there is no tool named {name:?}; no tools are available")
    } else {
        format!(
            "there is no tool named {name:?}; available tools: {}",
            available.join(", ")
        )
    };
    tracing::warn!(tool = name, "the model called an unknown tool");
    render("unknown_tool", &message)
}

/// The output for a call to a tool that was removed from the session (through
/// [`AgentHandle::change_tools`](crate::agent::AgentHandle::change_tools) and friends) while the
/// response that asked for it was being generated, listing the tools there are now.
pub fn removed_tool(name: &str, available: &[&str]) -> String {
    let now = if available.is_empty() {
        "no tools are available now".to_owned()
    } else {
        format!("available tools: {}", available.join(", "))
    };
    tracing::info!(tool = name, "the model called a tool that was removed");
    render(
        "tool_removed",
        &format!(
            "{name} was not run: it was removed from this session's tools while the response \
             was being generated; {now}"
        ),
    )
}

/// The output for a tool that ran and failed with `message`.
pub fn tool_error(tool: &str, message: &str) -> String {
    render("tool_error", &format!("{tool} failed: {message}"))
}

/// The output for a tool that panicked. The payload goes to `tracing` only.
pub fn panicked(tool: &str, payload: &(dyn Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(tool, panic = detail, "tool panicked");
    render(
        "panic",
        &format!("{tool} crashed unexpectedly and produced no result"),
    )
}

/// The output for a tool that did not finish within `limit`.
pub fn timed_out(tool: &str, limit: Duration) -> String {
    render(
        "timeout",
        &format!("{tool} did not finish within {}", format_duration(limit)),
    )
}

/// The output for a call cancelled because the user interrupted.
pub fn cancelled(tool: &str) -> String {
    render(
        "cancelled",
        &format!("{tool} was cancelled because the user interrupted; it may not have completed"),
    )
}

/// The output for a call cancelled because the session ended (the user hung up or closed the
/// agent) while it ran.
pub fn session_ended(tool: &str) -> String {
    render(
        "cancelled",
        &format!("{tool} was cancelled because the session ended; it may not have completed"),
    )
}

/// The output for a call the user refused to approve, with their reason if they gave one.
pub fn rejected(tool: &str, reason: Option<&str>) -> String {
    let message = match reason {
        Some(reason) if !reason.trim().is_empty() => {
            format!("the user did not allow {tool} to run: {}", reason.trim())
        }
        _ => format!("the user did not allow {tool} to run"),
    };
    render("rejected", &message)
}

/// The output for a [`ToolError`] returned by [`DynTool::call_json`](super::DynTool::call_json).
/// The error's source chain goes to `tracing`.
pub fn for_error(tool: &str, error: &ToolError) -> String {
    match error {
        ToolError::InvalidArguments { message } => {
            tracing::info!(tool, %message, "invalid tool arguments");
            invalid_arguments(tool, message)
        }
        ToolError::Failed { source } => {
            tracing::warn!(tool, error = %source_chain(source.as_ref()), "tool failed");
            tool_error(tool, &source.to_string())
        }
        ToolError::Cancelled => cancelled(tool),
    }
}

fn render(kind: &str, message: &str) -> String {
    json!({ "error": kind, "message": message }).to_string()
}

/// `error: cause: cause`, for the operator.
fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// `30s`, `1.5s`, `250ms`.
fn format_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}
