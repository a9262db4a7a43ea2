//! Agent loop tests against the fake server: tool round trips, concurrency, failures, the
//! response gate, barge-in, approval, shutdown.

mod agent {
    mod audio;
    mod embed;
    mod handoff;
    mod hosted_mcp;
    mod metrics;
    mod support;
    mod talk;
    mod tools;
    mod toolset;
    mod turns;
}
