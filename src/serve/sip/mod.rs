//! Phone calls through OpenAI SIP: the audio flows between the caller and OpenAI; this server
//! verifies the webhook, accepts the call with agent.toml's session, and runs the agent loop and
//! tools on a sideband WebSocket (`?call_id=`), adding `transfer_call` and `hang_up`.

mod control;
pub mod signature;
mod tools;
mod webhook;

pub(crate) use webhook::webhook;
