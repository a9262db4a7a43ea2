//! The failure outputs the model sees: one JSON shape, one message per kind.

use std::time::Duration;

use realtime_agent::tool::{ToolError, output};

/// Each failure kind renders `{"error":KIND,"message":TEXT}` with an actionable message.
#[test]
fn each_failure_kind_has_its_output() {
    assert_eq!(
        output::invalid_arguments("get_weather", "field \"unit\": unknown variant \"kelvin\""),
        r#"{"error":"invalid_arguments","message":"get_weather was not run: invalid arguments: field \"unit\": unknown variant \"kelvin\""}"#
    );
    assert_eq!(
        output::unknown_tool("get_wether", &["get_weather", "get_time"]),
        r#"{"error":"unknown_tool","message":"there is no tool named \"get_wether\"; available tools: get_weather, get_time"}"#
    );
    assert_eq!(
        output::unknown_tool("x", &[]),
        r#"{"error":"unknown_tool","message":"there is no tool named \"x\"; no tools are available"}"#
    );
    assert_eq!(
        output::tool_error("get_weather", "city not found"),
        r#"{"error":"tool_error","message":"get_weather failed: city not found"}"#
    );
    assert_eq!(
        output::timed_out("get_weather", Duration::from_secs(30)),
        r#"{"error":"timeout","message":"get_weather did not finish within 30s"}"#
    );
    assert_eq!(
        output::timed_out("quick", Duration::from_millis(250)),
        r#"{"error":"timeout","message":"quick did not finish within 250ms"}"#
    );
    assert_eq!(
        output::timed_out("slowish", Duration::from_millis(1500)),
        r#"{"error":"timeout","message":"slowish did not finish within 1.5s"}"#
    );
    assert_eq!(
        output::cancelled("play_music"),
        r#"{"error":"cancelled","message":"play_music was cancelled because the user interrupted; it may not have completed"}"#
    );
    assert_eq!(
        output::session_ended("play_music"),
        r#"{"error":"cancelled","message":"play_music was cancelled because the session ended; it may not have completed"}"#
    );
    assert_eq!(
        output::rejected("delete_file", Some(" not that one ")),
        r#"{"error":"rejected","message":"the user did not allow delete_file to run: not that one"}"#
    );
    assert_eq!(
        output::rejected("delete_file", None),
        r#"{"error":"rejected","message":"the user did not allow delete_file to run"}"#
    );
}

/// A panic's payload stays out of the model's output.
#[test]
fn panic_output_hides_the_payload() {
    let payload =
        std::panic::catch_unwind(|| panic!("index out of bounds: secret detail")).unwrap_err();
    assert_eq!(
        output::panicked("fragile", payload.as_ref()),
        r#"{"error":"panic","message":"fragile crashed unexpectedly and produced no result"}"#
    );
}

/// `for_error` maps each `ToolError` to its kind's output.
#[test]
fn tool_errors_map_to_their_outputs() {
    assert_eq!(
        output::for_error("t", &ToolError::invalid_arguments("missing field \"a\"")),
        r#"{"error":"invalid_arguments","message":"t was not run: invalid arguments: missing field \"a\""}"#
    );
    assert_eq!(
        output::for_error("t", &ToolError::failed("disk full")),
        r#"{"error":"tool_error","message":"t failed: disk full"}"#
    );
    assert_eq!(
        output::for_error("t", &ToolError::Cancelled),
        output::cancelled("t")
    );
}
