//! The tools a SIP call adds to agent.toml's: `transfer_call` (a SIP REFER) and `hang_up`.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::control::CallControl;
use crate::tool::{BoxError, ToolRegistry, tool_fn_without_context};

/// `transfer_call`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
struct Transfer {
    /// Where to send the call: a `tel:+15551234567` or `sip:user@host` URI.
    target_uri: String,
}

/// `hang_up`'s arguments (none).
#[derive(Debug, Deserialize, JsonSchema)]
struct HangUp {}

/// `registry` with `transfer_call` and `hang_up` for this call added, unless agent.toml (or
/// Rust code) already defines a tool of that name, which then wins.
pub(crate) fn with_call_tools(mut registry: ToolRegistry, control: CallControl) -> ToolRegistry {
    let control = Arc::new(control);
    let names = registry.names();
    let (has_transfer, has_hang_up) =
        (names.contains(&"transfer_call"), names.contains(&"hang_up"));
    if !has_transfer {
        let control = control.clone();
        let tool = tool_fn_without_context(
            "transfer_call",
            "Transfers the caller to another phone number or SIP address. Tell the caller before \
             transferring.",
            move |args: Transfer| {
                let control = control.clone();
                async move {
                    if !(args.target_uri.starts_with("tel:") || args.target_uri.starts_with("sip:"))
                    {
                        return Err::<String, BoxError>(
                            "target_uri must start with tel: or sip:".into(),
                        );
                    }
                    tracing::info!(target_uri = %args.target_uri, "transferring the call");
                    control
                        .post("refer", &serde_json::json!({"target_uri": args.target_uri}))
                        .await?;
                    Ok(format!(
                        "the call is being transferred to {}",
                        args.target_uri
                    ))
                }
            },
        );
        let _ = registry.add(tool);
    }
    if !has_hang_up {
        let tool = tool_fn_without_context(
            "hang_up",
            "Ends the phone call. Say goodbye first.",
            move |_: HangUp| {
                let control = control.clone();
                async move {
                    tracing::info!("hanging up");
                    control.post("hangup", &serde_json::json!({})).await?;
                    Ok::<_, BoxError>("the call has ended")
                }
            },
        );
        let _ = registry.add(tool);
    }
    registry
}
