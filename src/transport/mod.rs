//! The WebSocket transport: connect (URL, auth, dialect), typed handshake errors, and one task
//! each for the socket's read and write halves.
//!
//! [`connect`] returns a [`Connection`]: a clonable [`EventSender`] and an ordered
//! [`EventStream`] of decoded server events, ending with [`Incoming::Closed`].

mod connection;
mod error;
mod handshake;
mod io;
mod options;
mod recorder;
pub mod tls;

pub use connection::{
    CloseInfo, Connection, ConnectionGuard, EventSender, EventStream, Incoming, close_parts,
    connect, connect_with_recorder,
};
pub use error::{ConnectError, SendError};
pub use options::{
    AuthStyle, ConnectOptions, DEFAULT_MODEL, DEFAULT_URL, URL_ENV_VAR, resolve_url,
};
pub use recorder::{Direction, Recorder};
