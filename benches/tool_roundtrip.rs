//! Tool round-trip overhead of the agent loop, measured on a loopback fake server.
//!
//! From the moment the server sends `response.function_call_arguments.done` for a no-op tool
//! to the moment it receives the agent's `response.create` (after the `function_call_output`),
//! over 1,000 rounds; then the wall time of three parallel 300 ms tools in one response.
//!
//! Run: `cargo bench --bench tool_roundtrip`

use std::time::Duration;

use realtime_agent::agent::{Agent, AgentEvent};
use realtime_agent::protocol::{Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::tool_fn_without_context;
use serde::Deserialize;

#[derive(Deserialize, schemars::JsonSchema)]
struct NoArgs {}

struct Rec(
    std::time::Instant,
    std::sync::Mutex<Vec<(Duration, String)>>,
    std::sync::atomic::AtomicBool,
);
impl realtime_agent::transport::Recorder for Rec {
    fn record(&self, d: realtime_agent::transport::Direction, f: &str) {
        if !self.2.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let t: String = f.chars().skip(9).take(32).collect();
        self.1
            .lock()
            .unwrap()
            .push((self.0.elapsed(), format!("T {} {}", d.as_str(), t)));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn wait_idle(events: &mut realtime_agent::agent::AgentEvents) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(AgentEvent::Idle)) => return,
            Ok(Some(_)) => {}
            other => panic!("no idle: {other:?}"),
        }
    }
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);
    let runtime = match std::env::var("FLAVOR").as_deref() {
        Ok("current") | Ok("single") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    };
    // By default the fake server runs on its own thread and runtime, like a separate process.
    // FLAVOR=single puts it on the agent's one thread: no thread wake-ups at all, so what is
    // measured is processing alone (agent and server together).
    let single = std::env::var("FLAVOR").as_deref() == Ok("single");
    let builder = || {
        FakeServer::builder()
            .record_payloads(false)
            .responder(|_: &realtime_agent::testing::ResponseRequest<'_>| Reply::new())
    };
    let server_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = std::sync::Arc::new(if single {
        runtime.block_on(builder().start())
    } else {
        server_runtime.block_on(builder().start())
    });
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let server_thread = std::thread::spawn(move || {
        server_runtime.block_on(async move {
            tokio::task::spawn_blocking(move || stop_rx.recv())
                .await
                .ok();
        });
    });
    runtime.block_on(async move {
        let noop = tool_fn_without_context("noop", "Does nothing.", |_: NoArgs| async {
            Ok::<_, String>("ok")
        });
        let nap = tool_fn_without_context("nap", "Sleeps 300 ms.", |_: NoArgs| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, String>("rested")
        });
        let rec = std::sync::Arc::new(Rec(std::time::Instant::now() - server.elapsed(), Default::default(), Default::default()));
        let agent = Agent::builder()
            .recorder(rec.clone())
            .url(server.url())
            .session(SessionConfig {
                output_modalities: Some(vec![Modality::Text]),
                ..SessionConfig::default()
            })
            .audio_events(false)
            .tool(noop)
            .tool(nap)
            .build()
            .unwrap();
        let handle = agent.handle();
        let mut events = handle.subscribe(1 << 16);
        let task = tokio::spawn(agent.run());
        loop {
            if let Some(AgentEvent::Ready { .. }) = events.recv().await {
                break;
            }
        }

        // TRACE=1 prints one round's timeline (after a warm-up): what the server sent and
        // received, what the agent's transport saw, and the agent's events.
        let trace = std::env::var("TRACE").is_ok_and(|t| t == "1");
        for _ in 0..if trace { 200 } else { 0 } {
            server.start_response(Reply::call("noop", serde_json::json!({})));
            wait_idle(&mut events).await;
        }
        if trace {
            rec.2.store(true, std::sync::atomic::Ordering::Relaxed);
            let mark = server.elapsed();
            server.start_response(Reply::call("noop", serde_json::json!({})));
            let mut all_client = vec![];
            loop {
                let e = events.recv().await.unwrap();
                let at = server.elapsed();
                let name = format!("{e:?}").chars().take(24).collect::<String>();
                let idle = matches!(e, AgentEvent::Idle);
                all_client.push((at, format!("C  {name}")));
                if idle { break; }
            }
            let mut all: Vec<(Duration, String)> = server.sent_since(mark).into_iter().map(|s| (s.at, format!("S> {}", s.event_type))).collect();
            all.extend(server.received_since(mark).into_iter().map(|r| (r.at, format!("<R {}", r.event_type))));
            all.extend(all_client.into_iter().filter(|c| c.0 >= mark));
            all.extend(rec.1.lock().unwrap().iter().filter(|c| c.0 >= mark).cloned());
            rec.2.store(false, std::sync::atomic::Ordering::Relaxed);
            all.sort();
            let t0 = all[0].0;
            for (at, what) in all { println!("{:8.1} µs {what}", micros(at - t0)); }
        }

        // Warm up, then measure.
        let mut overheads = Vec::with_capacity(rounds);
        for round in 0..rounds + 50 {
            let mark = server.elapsed();
            server.start_response(Reply::call("noop", serde_json::json!({})));
            wait_idle(&mut events).await;
            if round < 50 {
                continue;
            }
            let sent = server.sent_since(mark);
            let args_done = sent
                .iter()
                .find(|s| s.event_type == "response.function_call_arguments.done")
                .expect("the call was sent")
                .at;
            let received = server.received_since(args_done);
            let create = received
                .iter()
                .find(|r| r.event_type == "response.create")
                .expect("the follow-up response.create arrived")
                .at;
            overheads.push(create - args_done);
        }
        overheads.sort();
        let mean = overheads.iter().sum::<Duration>() / overheads.len() as u32;
        println!("tool round trip (arguments.done sent -> response.create received), {rounds} rounds:");
        println!(
            "  median {:.1} µs   p99 {:.1} µs   mean {:.1} µs   min {:.1} µs   max {:.1} µs",
            micros(percentile(&overheads, 0.5)),
            micros(percentile(&overheads, 0.99)),
            micros(mean),
            micros(overheads[0]),
            micros(*overheads.last().unwrap())
        );

        // Three parallel 300 ms tools in one response.
        let mut walls = Vec::new();
        for _ in 0..5 {
            let mark = server.elapsed();
            server.start_response(
                Reply::new()
                    .and_call("nap", serde_json::json!({}))
                    .and_call("nap", serde_json::json!({}))
                    .and_call("nap", serde_json::json!({})),
            );
            wait_idle(&mut events).await;
            let sent = server.sent_since(mark);
            let first_call = sent
                .iter()
                .find(|s| s.event_type == "response.function_call_arguments.done")
                .unwrap()
                .at;
            let received = server.received_since(first_call);
            let create = received
                .iter()
                .find(|r| r.event_type == "response.create")
                .unwrap()
                .at;
            walls.push(create - first_call);
        }
        walls.sort();
        println!(
            "three parallel 300 ms tools (first arguments.done -> response.create): median {:.1} ms, max {:.1} ms (serial would be 900 ms)",
            percentile(&walls, 0.5).as_secs_f64() * 1e3,
            walls.last().unwrap().as_secs_f64() * 1e3
        );
        handle.shutdown();
        let _ = task.await;
    });
    stop_tx.send(()).ok();
    server_thread.join().unwrap();
}
