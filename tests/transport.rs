//! Transport tests against the fake server: handshake (URL, headers, dialect), typed handshake
//! errors, a configured session, close codes, malformed frames.

mod transport {
    mod handshake;
    mod raw_client;
    mod session;
}
