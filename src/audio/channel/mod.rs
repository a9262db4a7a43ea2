//! In-memory sources and sinks, for apps that embed the agent (a telephony bridge, a game) and
//! for tests.
//!
//! [`ChannelSource`] is fed by a [`ChannelFeeder`]: PCM at any rate and channel count, or bytes
//! already in the session format. [`ChannelSink`] is drained by a [`ChannelPlayer`], which is
//! also its clock: audio counts as played when the app pulls it (or a test advances it), so
//! barge-in reports exactly what the app played.

mod sink;
mod source;

pub use sink::{ChannelPlayer, ChannelSink};
pub use source::{ChannelFeeder, ChannelSource};
