//! Staying up: reconnection with replay, rate limits, session rotation, hostile input, key
//! hygiene, ephemeral keys.

mod resilience {
    mod faults;
    mod fuzz;
    mod secrets;
    #[path = "../agent/support.rs"]
    mod support;
}
