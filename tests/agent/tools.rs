//! Tool calls through the agent loop: round trip, concurrency, every failure kind.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use realtime_agent::agent::{AgentEvent, AgentHandle, ToolStatus};
use realtime_agent::protocol::ClientEvent;
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::{OnInterrupt, tool_fn, tool_fn_without_context};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::support::{json, outputs, start, until_idle, wait_for};

#[derive(Deserialize, JsonSchema)]
struct WeatherArgs {
    /// The city.
    city: String,
    /// The unit.
    unit: Option<Unit>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Celsius,
    Fahrenheit,
}

fn weather() -> impl realtime_agent::tool::DynTool {
    tool_fn_without_context(
        "get_weather",
        "Current weather in a city.",
        |args: WeatherArgs| async move {
            let unit = match args.unit {
                Some(Unit::Fahrenheit) => "F",
                _ => "C",
            };
            Ok::<_, String>(json!({"city": args.city, "temperature": 18, "unit": unit}))
        },
    )
}

/// One tool call: the output goes back with the call's id and exactly the tool's result, then
/// exactly one `response.create`, in this order on the wire.
#[tokio::test]
async fn one_tool_round_trip_in_exact_order() {
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_w1", "get_weather", json!({"city": "Paris"})))
        .reply(Reply::text("It is 18 degrees in Paris."))
        .start()
        .await;
    let mut agent = start(&server, |b| b.tool(weather())).await;
    agent.handle.send_text("Weather in Paris?").await.unwrap();
    let seen = until_idle(&mut agent.events).await;

    assert_eq!(
        server.received_types(),
        [
            "session.update",
            "conversation.item.create",
            "response.create",
            "conversation.item.create",
            "response.create"
        ]
    );
    assert_eq!(
        outputs(&server),
        [(
            "call_w1".to_owned(),
            r#"{"city":"Paris","temperature":18,"unit":"C"}"#.to_owned()
        )]
    );
    // The follow-up response.create came after the first response's response.done.
    let sent = server.sent();
    let first_done = sent
        .iter()
        .find(|s| s.event_type == "response.done")
        .unwrap()
        .at;
    let creates: Vec<_> = server
        .received()
        .into_iter()
        .filter(|r| r.event_type == "response.create")
        .collect();
    assert!(creates[1].at > first_done);
    // The session config carried the tool's generated schema.
    let session = server.session();
    let tools = serde_json::to_value(session.tools.unwrap()).unwrap();
    assert_eq!(tools[0]["name"], "get_weather");
    assert_eq!(tools[0]["parameters"]["required"], json!(["city"]));
    assert_eq!(
        tools[0]["parameters"]["properties"]["unit"]["enum"],
        json!(["celsius", "fahrenheit"])
    );
    // Events: started then finished with arguments, output and status; then the answer.
    let started = seen
        .iter()
        .position(|e| matches!(e, AgentEvent::ToolStarted { call_id, .. } if call_id == "call_w1"))
        .unwrap();
    let finished = seen
        .iter()
        .position(|e| matches!(e, AgentEvent::ToolFinished { call_id, status: ToolStatus::Ok, arguments, .. } if call_id == "call_w1" && arguments == r#"{"city":"Paris"}"#))
        .unwrap();
    assert!(started < finished);
    assert!(seen.iter().any(|e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "It is 18 degrees in Paris.")));
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
    let summary = agent.stop().await;
    assert_eq!(summary.tool_calls, 1);
    assert_eq!(summary.usage.responses, 2);
}

/// Three calls in one response, each sleeping 300 ms, run at once: all three start before any
/// finishes; three outputs are posted and one `response.create` follows the last of them.
#[tokio::test]
async fn three_parallel_tools_then_one_response_create() {
    let spans: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let recorder = spans.clone();
    #[derive(Deserialize, JsonSchema)]
    struct Nap {
        id: u32,
    }
    let nap = tool_fn_without_context("nap", "Sleeps 300 ms.", move |args: Nap| {
        let recorder = recorder.clone();
        async move {
            let start = Instant::now();
            tokio::time::sleep(Duration::from_millis(300)).await;
            recorder.lock().unwrap().push((start, Instant::now()));
            Ok::<_, String>(format!("nap {} done", args.id))
        }
    });
    let server = FakeServer::builder()
        .reply(
            Reply::new()
                .and_call_with_id("call_a", "nap", json!({"id": 1}))
                .and_call_with_id("call_b", "nap", json!({"id": 2}))
                .and_call_with_id("call_c", "nap", json!({"id": 3})),
        )
        .reply(Reply::text("All rested."))
        .start()
        .await;
    let mut agent = start(&server, |b| b.tool(nap)).await;
    agent.handle.send_text("Take three naps.").await.unwrap();
    until_idle(&mut agent.events).await;

    let spans = spans.lock().unwrap().clone();
    assert_eq!(spans.len(), 3);
    let last_start = spans.iter().map(|s| s.0).max().unwrap();
    let first_end = spans.iter().map(|s| s.1).min().unwrap();
    assert!(
        last_start < first_end,
        "the naps overlapped: every one started before any ended"
    );

    let mut got = outputs(&server);
    got.sort();
    assert_eq!(
        got,
        [
            ("call_a".to_owned(), "nap 1 done".to_owned()),
            ("call_b".to_owned(), "nap 2 done".to_owned()),
            ("call_c".to_owned(), "nap 3 done".to_owned())
        ]
    );
    let types = server.received_types();
    assert_eq!(
        types,
        [
            "session.update",
            "conversation.item.create",
            "response.create",
            "conversation.item.create",
            "conversation.item.create",
            "conversation.item.create",
            "response.create"
        ]
    );
    assert!(server.errors_sent().is_empty());
    agent.stop().await;
}

#[derive(Deserialize, JsonSchema)]
struct Nothing {}

/// Every failure becomes an error output the model can use, and the session goes on.
#[tokio::test]
async fn failures_become_outputs_and_the_session_goes_on() {
    let server = FakeServer::builder()
        .reply(
            Reply::new()
                .and_raw_call("get_weather", "{not json")
                .and_call("get_weather", json!({"city": "Oslo", "unit": "kelvin"}))
                .and_call("launch_rocket", json!({}))
                .and_call("broken", json!({}))
                .and_call("explodes", json!({}))
                .and_call("slow", json!({})),
        )
        .reply(Reply::text("Some tools failed."))
        .reply(Reply::text("Still here."))
        .start()
        .await;
    let broken = tool_fn_without_context("broken", "Always fails.", |_: Nothing| async {
        Err::<String, _>("disk full")
    });
    let explodes = tool_fn_without_context("explodes", "Panics.", |_: Nothing| async {
        if true {
            panic!("kaboom");
        }
        Ok::<String, String>(String::new())
    });
    let slow = tool_fn_without_context("slow", "Too slow.", |_: Nothing| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<_, String>("late")
    })
    .timeout(Duration::from_millis(200));
    let mut agent = start(&server, |b| {
        b.tool(weather()).tool(broken).tool(explodes).tool(slow)
    })
    .await;
    agent.handle.send_text("Try everything.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;

    let outs = outputs(&server);
    assert_eq!(outs.len(), 6, "{outs:?}");
    let kinds: Vec<String> = outs
        .iter()
        .map(|(_, o)| json(o)["error"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "invalid_arguments",
            "invalid_arguments",
            "panic",
            "timeout",
            "tool_error",
            "unknown_tool"
        ]
    );
    let message = |kind: &str| -> Vec<String> {
        outs.iter()
            .map(|(_, o)| json(o))
            .filter(|v| v["error"] == kind)
            .map(|v| v["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        message("invalid_arguments")
            .iter()
            .any(|m| m.contains("unit") && m.contains("kelvin")),
        "{:?}",
        message("invalid_arguments")
    );
    assert!(
        message("unknown_tool")[0].contains("launch_rocket")
            && message("unknown_tool")[0].contains("get_weather")
    );
    assert!(message("tool_error")[0].contains("disk full"));
    assert!(message("timeout")[0].contains("slow"));
    let statuses: Vec<ToolStatus> = seen
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolFinished { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    for status in [
        ToolStatus::InvalidArguments,
        ToolStatus::UnknownTool,
        ToolStatus::Failed,
        ToolStatus::Panicked,
        ToolStatus::TimedOut,
    ] {
        assert!(
            statuses.contains(&status),
            "{status:?} missing from {statuses:?}"
        );
    }
    // Alive: another turn works.
    agent.handle.send_text("Are you there?").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert!(
        seen.iter().any(
            |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Still here.")
        )
    );
    assert!(server.unanswered_calls().is_empty());
    agent.stop().await;
}

/// A tool that needs approval waits for it; approved it runs, rejected the model is told.
#[tokio::test]
async fn approval_granted_and_rejected() {
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_ok", "delete_file", json!({})))
        .reply(Reply::text("Deleted."))
        .reply(Reply::new().and_call_with_id("call_no", "delete_file", json!({})))
        .reply(Reply::text("Not deleted."))
        .start()
        .await;
    let ran = Arc::new(Mutex::new(0));
    let counter = ran.clone();
    let delete = tool_fn_without_context("delete_file", "Deletes a file.", move |_: Nothing| {
        let counter = counter.clone();
        async move {
            *counter.lock().unwrap() += 1;
            Ok::<_, String>("deleted")
        }
    })
    .requires_approval(true);
    let mut agent = start(&server, |b| b.tool(delete)).await;

    agent.handle.send_text("Delete it.").await.unwrap();
    let request = wait_for(&mut agent.events, "approval request", |e| {
        matches!(e, AgentEvent::ApprovalRequested { .. })
    })
    .await;
    let AgentEvent::ApprovalRequested { call_id, name, .. } = request else {
        unreachable!()
    };
    assert_eq!(
        (call_id.as_str(), name.as_str()),
        ("call_ok", "delete_file")
    );
    assert_eq!(*ran.lock().unwrap(), 0, "nothing runs before approval");
    agent.handle.approve("call_ok").await.unwrap();
    until_idle(&mut agent.events).await;
    assert_eq!(*ran.lock().unwrap(), 1);

    agent.handle.send_text("Delete it again.").await.unwrap();
    wait_for(&mut agent.events, "approval request", |e| {
        matches!(e, AgentEvent::ApprovalRequested { .. })
    })
    .await;
    agent
        .handle
        .reject("call_no", Some("not that one".into()))
        .await
        .unwrap();
    until_idle(&mut agent.events).await;
    assert_eq!(*ran.lock().unwrap(), 1, "a rejected call does not run");
    let outs = outputs(&server);
    assert_eq!(outs[0], ("call_ok".to_owned(), "deleted".to_owned()));
    let rejected = json(&outs[1].1);
    assert_eq!(outs[1].0, "call_no");
    assert_eq!(rejected["error"], "rejected");
    assert!(
        rejected["message"]
            .as_str()
            .unwrap()
            .contains("not that one")
    );
    agent.stop().await;
}

/// Shutting down while a tool runs cancels it through its token; `run` returns promptly.
#[tokio::test]
async fn shutdown_cancels_running_tools() {
    let server = FakeServer::builder()
        .reply(Reply::new().and_call("wait_forever", json!({})))
        .start()
        .await;
    let cancelled = Arc::new(Mutex::new(false));
    let flag = cancelled.clone();
    let forever = tool_fn(
        "wait_forever",
        "Waits until cancelled.",
        move |_: Nothing, ctx| {
            let flag = flag.clone();
            async move {
                ctx.cancelled().await;
                *flag.lock().unwrap() = true;
                Ok::<_, String>("cancelled")
            }
        },
    );
    let mut agent = start(&server, |b| b.tool(forever)).await;
    agent.handle.send_text("Wait.").await.unwrap();
    wait_for(&mut agent.events, "tool start", |e| {
        matches!(e, AgentEvent::ToolStarted { .. })
    })
    .await;
    let began = Instant::now();
    agent.stop().await;
    assert!(
        *cancelled.lock().unwrap(),
        "the tool saw its token cancelled"
    );
    assert!(began.elapsed() < Duration::from_secs(2));
}

/// A call that finishes as the session ends (here its own tool ends it, as a caller hanging up
/// does in `agent serve`) is still answered on the wire before the close, with no response
/// after it, and reported as finished.
#[tokio::test]
async fn a_call_finishing_as_the_session_ends_is_answered() {
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_bye", "hang_up", json!({})))
        .start()
        .await;
    let slot: Arc<Mutex<Option<AgentHandle>>> = Arc::default();
    let handle = slot.clone();
    let hang_up = tool_fn_without_context("hang_up", "Ends the call.", move |_: Nothing| {
        // The session ends between the call finishing and the loop taking its output.
        if let Some(handle) = handle.lock().unwrap().as_ref() {
            handle.shutdown();
        }
        async { Ok::<_, String>("bye") }
    });
    let mut agent = start(&server, |b| b.tool(hang_up)).await;
    *slot.lock().unwrap() = Some(agent.handle.clone());
    agent.handle.send_text("Hang up.").await.unwrap();
    let mut finished = Vec::new();
    while let Some(event) = tokio::time::timeout(super::support::WAIT, agent.events.recv())
        .await
        .expect("the events end with the session")
    {
        if let AgentEvent::ToolFinished {
            call_id,
            output,
            status,
            ..
        } = event
        {
            finished.push((call_id, output, status));
        }
    }
    let summary = agent.task.await.unwrap().unwrap();
    assert_eq!(
        finished,
        [("call_bye".to_owned(), "bye".to_owned(), ToolStatus::Ok)]
    );
    assert_eq!(summary.tool_calls, 1);
    server
        .wait_until("the connection to close", super::support::WAIT, |s| {
            !s.is_open(0)
        })
        .await;
    assert_eq!(
        server.received_types(),
        [
            "session.update",
            "conversation.item.create",
            "response.create",
            "conversation.item.create"
        ]
    );
    assert_eq!(
        outputs(&server),
        [("call_bye".to_owned(), "bye".to_owned())]
    );
}

/// On barge-in a `keep` tool finishes and its output is posted without a new response being
/// forced; a `cancel` tool is cancelled and its output says so.
#[tokio::test]
async fn barge_in_keeps_or_cancels_tools() {
    let server = FakeServer::builder()
        .reply(
            Reply::new()
                .and_call_with_id("call_keep", "lookup", json!({}))
                .and_call_with_id("call_cancel", "play_music", json!({})),
        )
        .start()
        .await;
    let lookup = tool_fn_without_context("lookup", "Slow lookup.", |_: Nothing| async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok::<_, String>("found it")
    });
    let music = tool_fn_without_context("play_music", "Plays music.", |_: Nothing| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<_, String>("played")
    })
    .on_interrupt(OnInterrupt::Cancel);
    let mut agent = start(&server, |b| b.tool(lookup).tool(music)).await;
    agent
        .handle
        .send_text("Look it up and play music.")
        .await
        .unwrap();
    wait_for(&mut agent.events, "both tools", {
        let mut started = 0;
        move |e| {
            if matches!(e, AgentEvent::ToolStarted { .. }) {
                started += 1;
            }
            started == 2
        }
    })
    .await;
    // The first response is done (both calls announced); now the user speaks.
    server
        .wait_until("response.done", super::support::WAIT, |s| {
            s.responses_done() >= 1
        })
        .await;
    server.speech_started();
    wait_for(&mut agent.events, "cancelled tool", |e| {
        matches!(
            e,
            AgentEvent::ToolFinished {
                status: ToolStatus::Cancelled,
                ..
            }
        )
    })
    .await;
    wait_for(&mut agent.events, "kept tool", |e| {
        matches!(
            e,
            AgentEvent::ToolFinished {
                status: ToolStatus::Ok,
                ..
            }
        )
    })
    .await;
    server
        .wait_for_received("conversation.item.create", 3, super::support::WAIT)
        .await;
    // A `response.create` forced by the finished batch would be sent in the step that posted
    // the last output, before the agent handles a later command: this one is the barrier.
    agent
        .handle
        .send_event(ClientEvent::clear_input())
        .await
        .unwrap();
    server
        .wait_for_received("input_audio_buffer.clear", 1, super::support::WAIT)
        .await;
    let outs = outputs(&server);
    assert!(
        outs.contains(&("call_keep".to_owned(), "found it".to_owned())),
        "{outs:?}"
    );
    let cancelled = outs.iter().find(|(id, _)| id == "call_cancel").unwrap();
    assert_eq!(json(&cancelled.1)["error"], "cancelled");
    // Only the user's message asked for a response: nothing was forced over the user's turn.
    let creates = server
        .received_types()
        .iter()
        .filter(|t| *t == "response.create")
        .count();
    assert_eq!(creates, 1);
    assert!(server.unanswered_calls().is_empty());
    agent.stop().await;
}

/// The beta dialect: the call's name comes from the item (beta `arguments.done` has none), the
/// output goes back, and the follow-up response happens, all in beta event names.
#[tokio::test]
async fn beta_dialect_tool_round_trip() {
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_b1", "get_weather", json!({"city": "Rome"})))
        .reply(Reply::text("Sunny in Rome."))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.dialect(realtime_agent::protocol::Dialect::Beta)
            .tool(weather())
    })
    .await;
    assert_eq!(server.dialect(), realtime_agent::protocol::Dialect::Beta);
    agent.handle.send_text("Weather in Rome?").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert_eq!(
        outputs(&server),
        [(
            "call_b1".to_owned(),
            r#"{"city":"Rome","temperature":18,"unit":"C"}"#.to_owned()
        )]
    );
    assert!(seen.iter().any(
        |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Sunny in Rome.")
    ));
    let sent: Vec<String> = server.sent().into_iter().map(|s| s.event_type).collect();
    assert!(
        sent.contains(&"response.text.delta".to_owned())
            && !sent.iter().any(|t| t.starts_with("response.output_text"))
    );
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
    agent.stop().await;
}

/// A tool that does not wait is polled where its call arrives and answered without a task of
/// its own: two such calls run on the same task (the agent's). One that waits continues on
/// its own task. A tool that panics on that first poll still gets its failure output.
#[tokio::test]
async fn a_tool_that_does_not_wait_answers_without_a_task_switch() {
    /// Which task each tool ran on.
    type Tasks = Arc<Mutex<Vec<(String, Option<tokio::task::Id>)>>>;
    let tasks: Tasks = Arc::default();
    let record = |name: &'static str, waits: bool| {
        let tasks = tasks.clone();
        tool_fn_without_context(name, "Records its task.", move |_: Nothing| {
            let tasks = tasks.clone();
            async move {
                if waits {
                    tokio::task::yield_now().await;
                }
                tasks
                    .lock()
                    .unwrap()
                    .push((name.to_owned(), tokio::task::try_id()));
                Ok::<_, String>(name)
            }
        })
    };
    let explodes = tool_fn_without_context("explodes", "Panics at once.", |_: Nothing| async {
        if true {
            panic!("kaboom");
        }
        Ok::<String, String>(String::new())
    });
    let server = FakeServer::builder()
        .reply(
            Reply::new()
                .and_call_with_id("call_a", "quick_a", json!({}))
                .and_call_with_id("call_b", "quick_b", json!({}))
                .and_call_with_id("call_c", "waits", json!({}))
                .and_call_with_id("call_d", "explodes", json!({})),
        )
        .reply(Reply::text("Done."))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.tool(record("quick_a", false))
            .tool(record("quick_b", false))
            .tool(record("waits", true))
            .tool(explodes)
    })
    .await;
    agent.handle.send_text("Go.").await.unwrap();
    until_idle(&mut agent.events).await;
    let tasks = tasks.lock().unwrap().clone();
    let task = |name: &str| {
        tasks
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} did not run: {tasks:?}"))
            .1
    };
    assert!(task("quick_a").is_some(), "{tasks:?}");
    assert_eq!(task("quick_a"), task("quick_b"), "{tasks:?}");
    assert_ne!(task("waits"), task("quick_a"), "{tasks:?}");
    let mut outs = outputs(&server);
    outs.sort();
    assert_eq!(
        outs[..3],
        [
            ("call_a".to_owned(), "quick_a".to_owned()),
            ("call_b".to_owned(), "quick_b".to_owned()),
            ("call_c".to_owned(), "waits".to_owned()),
        ]
    );
    assert_eq!(outs[3].0, "call_d");
    assert_eq!(json(&outs[3].1)["error"], "panic");
    assert_eq!(server.count_received("response.create"), 2);
    agent.stop().await;
}
