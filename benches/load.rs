//! Many concurrent agent sessions against one fake server on loopback.
//!
//! N sessions (default 100, 500 and 1,000) each stream microphone audio in real time (20 ms
//! PCM16 frames) while doing 20 tool round trips (a user message, a function call, the output,
//! the follow-up response). The fake server runs in a child process, so this process's CPU and
//! memory are the agents' alone. Reports completed round trips (and lost outputs: there must be
//! none), the round-trip overhead under load as the server measures it (from the call's
//! `arguments.done` to the `response.create`), CPU seconds, and memory per session.
//!
//! Run: `cargo bench --bench load` (or `SESSIONS=1000 cargo bench --bench load`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use realtime_agent::agent::{Agent, AgentEvent, ReconnectPolicy};
use realtime_agent::audio::ChannelSource;
use realtime_agent::protocol::{AudioFormat, Item, Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply, ResponseRequest};
use realtime_agent::tool::tool_fn_without_context;

const ROUNDS: usize = 20;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoArgs {}

/// The child process: a fake server whose model calls `noop` for every user message.
fn serve() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let model = |request: &ResponseRequest<'_>| match request.conversation.last() {
            Some(Item::FunctionCallOutput(_)) => Reply::new(),
            _ => Reply::call("noop", serde_json::json!({})),
        };
        let server = FakeServer::builder()
            .record_events(false)
            .keep_input_audio(false)
            .responder(model)
            .start()
            .await;
        println!("URL {}", server.url());
        // Wait for "report" on stdin, then print the server's view and exit.
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).ok();
            line
        })
        .await
        .unwrap();
        let _ = line;
        let mut trips = server.tool_round_trips();
        trips.sort();
        let (calls, outputs) = server.call_counts();
        let at = |p: f64| {
            trips
                .get(((trips.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or_default()
        };
        println!(
            "STATS {} {} {} {} {} {}",
            calls,
            outputs,
            trips.len(),
            at(0.5).as_micros(),
            at(0.99).as_micros(),
            cpu_seconds()
        );
    });
}

/// CPU seconds of this process (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn session(url: String, started: tokio::sync::mpsc::Sender<()>) -> usize {
    let (source, feeder) = ChannelSource::new(AudioFormat::Pcm16, 20, 8).unwrap();
    let noop = tool_fn_without_context("noop", "Does nothing.", |_: NoArgs| async {
        Ok::<_, String>("ok")
    });
    let agent = Agent::builder()
        .url(url)
        .session(SessionConfig {
            output_modalities: Some(vec![Modality::Text]),
            turn_detection: Some(None),
            ..SessionConfig::default()
        })
        .reconnect(ReconnectPolicy::never())
        .audio_events(false)
        .audio_source(source)
        .tool(noop)
        .build()
        .unwrap();
    let handle = agent.handle();
    let mut events = handle.subscribe(256);
    let run = tokio::spawn(agent.run());
    // The microphone: a 20 ms frame every 20 ms, in real time.
    let mic = tokio::spawn(async move {
        let frame: Vec<u8> = (0..960u32).map(|i| (i % 7) as u8).collect();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            if feeder.push_encoded(&frame).await.is_err() {
                return;
            }
        }
    });
    loop {
        if let Some(AgentEvent::Ready { .. }) = events.recv().await {
            break;
        }
    }
    let _ = started.send(()).await;
    let mut completed = 0;
    for _ in 0..ROUNDS {
        // Spread the rounds over a few seconds of streaming.
        tokio::time::sleep(Duration::from_millis(150)).await;
        handle.send_text("go").await.unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
                Ok(Some(AgentEvent::ToolFinished { .. })) => completed += 1,
                Ok(Some(AgentEvent::Idle)) => break,
                Ok(Some(_)) => {}
                _ => return completed,
            }
        }
    }
    // Shut down before the microphone stops: a source that ends is a finished manual turn,
    // which the agent would commit and answer.
    handle.shutdown();
    let _ = run.await;
    mic.abort();
    completed
}

fn run(sessions: usize) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("LOAD_SERVER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("URL ").unwrap().to_owned();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rss_before = rss_kib();
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let (completed, peak_rss) = runtime.block_on(async move {
        let (started_tx, mut started_rx) = tokio::sync::mpsc::channel(sessions);
        let tasks: Vec<_> = (0..sessions)
            .map(|_| tokio::spawn(session(url.clone(), started_tx.clone())))
            .collect();
        for _ in 0..sessions {
            started_rx.recv().await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let peak_rss = rss_kib();
        let mut completed = 0;
        for task in tasks {
            completed += task.await.unwrap();
        }
        (completed, peak_rss)
    });
    let wall = start.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    drop(runtime);

    writeln!(child.stdin.as_mut().unwrap(), "report").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    let _ = child.wait();
    let stats: Vec<&str> = line.split_whitespace().skip(1).collect();
    let (calls, outputs, trips, p50, p99, server_cpu) =
        (stats[0], stats[1], stats[2], stats[3], stats[4], stats[5]);
    let audio_minutes = sessions as f64 * wall.as_secs_f64() / 60.0;
    println!(
        "{sessions:>5} sessions: {completed}/{} round trips completed; server: {calls} calls, {outputs} outputs ({} lost); round trip under load p50 {p50} µs, p99 {p99} µs ({trips} measured); wall {:.1} s; agent CPU {cpu:.2} s ({:.3} CPU-s per session-minute of streaming); server CPU {server_cpu} s; memory {:.0} KiB per session",
        sessions * ROUNDS,
        calls.parse::<i64>().unwrap() - outputs.parse::<i64>().unwrap(),
        wall.as_secs_f64(),
        cpu / audio_minutes,
        (peak_rss.saturating_sub(rss_before)) as f64 / sessions as f64,
    );
}

fn main() {
    if std::env::var("LOAD_SERVER").is_ok() {
        return serve();
    }
    let counts: Vec<usize> = match std::env::var("SESSIONS") {
        Ok(list) => list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
        Err(_) => vec![100, 500, 1000],
    };
    println!(
        "load: each session streams 20 ms audio frames in real time and does {ROUNDS} tool round trips"
    );
    for n in counts {
        run(n);
    }
}
