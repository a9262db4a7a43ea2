//! Tools that talk while they work: fillers after `filler_after`, progress notes, background
//! results said at the next quiet moment; what goes on the wire and in which order.

use std::sync::Arc;
use std::time::Duration;

use realtime_agent::agent::AgentEvent;
use realtime_agent::protocol::{ClientEvent, Item, Role};
use realtime_agent::testing::{FakeServer, Received, Reply};
use realtime_agent::tool::{BoxError, ToolContext, tool_fn};
use serde_json::json;
use tokio::sync::Notify;

use super::support::{start, until_idle, wait_for};

/// A tool without arguments.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

/// The client events that shape the conversation, in the order the server got them:
/// `response.create` (marked `(oob)` when out of band) and `conversation.item.create` (with the
/// item's kind).
fn wire(server: &FakeServer) -> Vec<String> {
    server
        .received()
        .iter()
        .filter_map(|r| match &r.event {
            Some(ClientEvent::ResponseCreate(create)) => {
                let oob = create
                    .response
                    .as_ref()
                    .is_some_and(|o| o.conversation.as_deref() == Some("none"));
                Some(if oob {
                    "response.create (oob)".to_owned()
                } else {
                    "response.create".to_owned()
                })
            }
            Some(ClientEvent::ConversationItemCreate(create)) => Some(match &create.item {
                Item::FunctionCallOutput(o) => format!("item: output {}", o.output),
                Item::Message(m) if m.role == Role::System => "item: system".to_owned(),
                Item::Message(_) => "item: user".to_owned(),
                _ => "item: other".to_owned(),
            }),
            _ => None,
        })
        .collect()
}

fn first(server: &FakeServer, what: impl Fn(&Received) -> bool) -> Duration {
    server
        .received()
        .iter()
        .find(|r| what(r))
        .expect("the server received it")
        .at
}

fn sent_at(server: &FakeServer, event_type: &str, nth: usize) -> Duration {
    server
        .sent()
        .iter()
        .filter(|s| s.event_type == event_type)
        .nth(nth)
        .unwrap_or_else(|| panic!("the server sent no {event_type} #{nth}"))
        .at
}

fn is_oob(r: &Received) -> bool {
    matches!(&r.event, Some(ClientEvent::ResponseCreate(c))
        if c.response.as_ref().is_some_and(|o| o.conversation.as_deref() == Some("none")))
}

/// A slow tool with `filler_after` 100 ms: an out-of-band filler is asked for once the call has
/// run 100 ms (with `metadata` to tell it apart and no tools); the tool finishes while the
/// filler is still streaming, and its output leads to exactly one `response.create`, sent
/// after the filler is done. The filler stays out of the conversation.
#[tokio::test]
async fn a_slow_tool_gets_one_filler_and_its_output_one_response() {
    let server = FakeServer::builder()
        .reply(Reply::call("slow_search", json!({})))
        .reply(
            Reply::text("One moment, I'm checking the records.").paced(Duration::from_millis(40)),
        )
        .reply(Reply::text("Found it."))
        .start()
        .await;
    let search = tool_fn(
        "slow_search",
        "Searches slowly.",
        |_: Nothing, _ctx: ToolContext| async {
            tokio::time::sleep(Duration::from_millis(180)).await;
            Ok::<_, BoxError>("3 records")
        },
    )
    .filler_after(Duration::from_millis(100));
    let mut agent = start(&server, |b| b.tool(search)).await;
    agent.handle.send_text("Search the records.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;

    assert_eq!(
        wire(&server),
        [
            "item: user",
            "response.create",
            "response.create (oob)",
            "item: output 3 records",
            "response.create",
        ]
    );
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
    let filler_asked = first(&server, is_oob);
    let call_sent = sent_at(&server, "response.function_call_arguments.done", 0);
    assert!(
        filler_asked >= call_sent + Duration::from_millis(100),
        "the filler waited for filler_after: {filler_asked:?} vs call at {call_sent:?}"
    );
    let filler = server
        .received()
        .into_iter()
        .find(is_oob)
        .and_then(|r| match r.event {
            Some(ClientEvent::ResponseCreate(c)) => c.response,
            _ => None,
        })
        .unwrap();
    assert_eq!(
        filler.metadata.as_ref().unwrap()["realtime_agent"],
        "filler"
    );
    assert!(
        filler
            .instructions
            .as_deref()
            .unwrap()
            .contains("slow_search")
    );
    // The output's response waited for the filler's end: one response at a time.
    let filler_done = sent_at(&server, "response.done", 1);
    let last_create = server
        .received()
        .iter()
        .rfind(|r| r.event_type == "response.create")
        .unwrap()
        .at;
    assert!(last_create > filler_done);
    // The filler is not in the conversation; the answer is.
    let conversation = server.conversation();
    let words: Vec<String> = conversation
        .iter()
        .filter_map(|i| match i {
            Item::Message(m) if m.role == Role::Assistant => {
                m.content.iter().find_map(|p| p.words()).map(str::to_owned)
            }
            _ => None,
        })
        .collect();
    assert_eq!(words, ["Found it."]);
    assert!(
        seen.iter().any(
            |e| matches!(e, AgentEvent::FillerRequested { name, .. } if name == "slow_search")
        )
    );
    assert!(seen.iter().any(
        |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "One moment, I'm checking the records.")
    ));
    agent.stop().await;
}

/// A quick tool with `filler_after` gets no filler at all.
#[tokio::test]
async fn a_tool_that_finishes_in_time_gets_no_filler() {
    let server = FakeServer::builder()
        .reply(Reply::call("quick", json!({})))
        .reply(Reply::text("Done."))
        .start()
        .await;
    let quick = tool_fn("quick", "Quick.", |_: Nothing, _ctx: ToolContext| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok::<_, BoxError>("ok")
    })
    .filler_after(Duration::from_millis(150));
    let mut agent = start(&server, |b| b.tool(quick)).await;
    agent.handle.send_text("Go.").await.unwrap();
    until_idle(&mut agent.events).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        wire(&server),
        [
            "item: user",
            "response.create",
            "item: output ok",
            "response.create"
        ]
    );
    agent.stop().await;
}

/// Progress notes show as events; a spoken one is said as an out-of-band filler whose
/// instructions carry the note.
#[tokio::test]
async fn progress_is_reported_and_optionally_spoken() {
    let server = FakeServer::builder()
        .reply(Reply::call("download", json!({})))
        .reply(Reply::text("Three of ten are in."))
        .reply(Reply::text("All ten downloaded."))
        .start()
        .await;
    let go_on = Arc::new(Notify::new());
    let release = go_on.clone();
    let download = tool_fn(
        "download",
        "Downloads.",
        move |_: Nothing, ctx: ToolContext| {
            let go_on = go_on.clone();
            async move {
                ctx.progress("downloaded 1 of 10");
                ctx.progress_spoken("downloaded 3 of 10");
                go_on.notified().await;
                Ok::<_, BoxError>("10 files")
            }
        },
    );
    let mut agent = start(&server, |b| b.tool(download)).await;
    agent.handle.send_text("Download them.").await.unwrap();
    let progress = wait_for(&mut agent.events, "progress", |e| {
        matches!(e, AgentEvent::ToolProgress { .. })
    })
    .await;
    let AgentEvent::ToolProgress { name, message, .. } = progress else {
        unreachable!()
    };
    assert_eq!(
        (name.as_str(), message.as_str()),
        ("download", "downloaded 1 of 10")
    );
    wait_for(&mut agent.events, "the spoken progress", |e| {
        matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Three of ten are in.")
    })
    .await;
    release.notify_one();
    until_idle(&mut agent.events).await;
    assert_eq!(
        wire(&server),
        [
            "item: user",
            "response.create",
            "response.create (oob)",
            "item: output 10 files",
            "response.create",
        ]
    );
    let spoken = server
        .received()
        .into_iter()
        .find(is_oob)
        .and_then(|r| match r.event {
            Some(ClientEvent::ResponseCreate(c)) => c.response,
            _ => None,
        })
        .unwrap();
    assert!(
        spoken
            .instructions
            .as_deref()
            .unwrap()
            .contains("downloaded 3 of 10")
    );
    agent.stop().await;
}

/// A background tool answers at once, the model says so, and the user starts speaking; the real
/// result arrives while the user speaks. Nothing is sent until the user has finished and the
/// server's answer to them is done; then the result enters the conversation and one
/// `response.create` asks about it.
#[tokio::test]
async fn a_background_result_waits_for_the_user_and_the_answer_to_them() {
    let server = FakeServer::builder()
        .reply(Reply::call("make_report", json!({})))
        .reply(Reply::text("I've started the report."))
        .reply(Reply::text("Sure, the weather is fine.").paced(Duration::from_millis(20)))
        .reply(Reply::text("Your report is ready."))
        .start()
        .await;
    let finish = Arc::new(Notify::new());
    let release = finish.clone();
    let report = tool_fn(
        "make_report",
        "Makes a report.",
        move |_: Nothing, ctx: ToolContext| {
            let finish = finish.clone();
            async move {
                ctx.answer_now("started; the report will follow");
                finish.notified().await;
                Ok::<_, BoxError>("report: 12 pages")
            }
        },
    );
    let mut agent = start(&server, |b| b.tool(report)).await;
    agent.handle.send_text("Make my report.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert!(seen.iter().any(
        |e| matches!(e, AgentEvent::ToolAnsweredEarly { output, .. } if output == "started; the report will follow")
    ));
    assert_eq!(
        wire(&server),
        [
            "item: user",
            "response.create",
            "item: output started; the report will follow",
            "response.create",
        ]
    );

    server.speech_started();
    wait_for(&mut agent.events, "the user speaking", |e| {
        matches!(e, AgentEvent::UserSpeechStarted)
    })
    .await;
    release.notify_one();
    wait_for(
        &mut agent.events,
        "the background result",
        |e| matches!(e, AgentEvent::ToolFinished { output, .. } if output == "report: 12 pages"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(wire(&server).len(), 4, "nothing is sent over the user");

    server.speech_stopped();
    wait_for(&mut agent.events, "the report announced", |e| {
        matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Your report is ready.")
    })
    .await;
    assert_eq!(
        wire(&server),
        [
            "item: user",
            "response.create",
            "item: output started; the report will follow",
            "response.create",
            "item: system",
            "response.create",
        ]
    );
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
    // The result went in only after the answer to the user was done.
    let answer_to_user_done = sent_at(&server, "response.done", 2);
    let result_posted = server
        .received()
        .iter()
        .rfind(|r| r.event_type == "conversation.item.create")
        .unwrap()
        .at;
    assert!(result_posted > answer_to_user_done);
    let system = server
        .conversation()
        .into_iter()
        .find_map(|i| match i {
            Item::Message(m) if m.role == Role::System => {
                m.content.iter().find_map(|p| p.words()).map(str::to_owned)
            }
            _ => None,
        })
        .unwrap();
    assert!(system.contains("make_report") && system.contains("report: 12 pages"));
    agent.stop().await;
}
