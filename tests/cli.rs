//! The `agent` command driven as a user drives it: the real binary, its stdin, stdout, stderr
//! and exit code, against a fake Realtime server (or a fake REST API) on 127.0.0.1.

mod cli {
    mod commands;
    mod config_errors;
    #[cfg(feature = "audio")]
    mod echo;
    mod failures;
    mod fake_server;
    mod file;
    mod handoff;
    mod hosted_mcp;
    #[cfg(feature = "otel")]
    mod otel;
    mod record;
    mod secrets;
    mod shipped_tools;
    mod support;
    mod text;
    mod voice;
}
