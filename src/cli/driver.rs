//! The conversation loop every mode shares: agent events to the screen, stdin lines to the
//! agent (messages, approvals, push-to-talk), Ctrl-C to a clean shutdown, and when to stop.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::agent::{AgentEvent, AgentEvents, AgentHandle};
use crate::protocol::ClientEvent;

use super::console::Console;
use super::render::Renderer;

/// How long the file mode waits after the answer for the user's transcript, which the separate
/// transcription model may deliver late.
const TRANSCRIPT_GRACE: Duration = Duration::from_secs(3);

/// What the conversation is for, which decides what stdin lines mean and when it ends.
pub(crate) enum Mode {
    /// Lines are messages, sent one at a time; stdin's end ends the session once answered.
    Text,
    /// A file is sent; the session ends when its answer is complete.
    File(FileProgress),
    /// Microphone and speaker until Ctrl-C; typed lines are sent as messages, or with
    /// push-to-talk each Enter starts or ends a turn.
    #[cfg_attr(not(feature = "audio"), allow(dead_code))]
    Voice { push_to_talk: Option<PushToTalk> },
}

/// How far the file mode's upload has got, shared with its source.
#[derive(Clone)]
pub(crate) struct FileProgress {
    pub(crate) label: String,
    pub(crate) total: Duration,
    pub(crate) sent_ms: Arc<AtomicU64>,
    pub(crate) ended: Arc<AtomicBool>,
    pub(crate) transcription: bool,
}

/// The microphone gate of push-to-talk: open while the user holds the turn.
#[derive(Clone, Default)]
pub(crate) struct PushToTalk {
    pub(crate) open: Arc<AtomicBool>,
}

/// How the driver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quit {
    /// The session ended (on its own, or after the first Ctrl-C).
    AfterTheSession,
    /// A second Ctrl-C: quit without waiting for the session to end.
    Now,
}

pub(crate) struct Driver {
    ctrl_c: CtrlC,
    handle: AgentHandle,
    events: AgentEvents,
    renderer: Renderer,
    console: Console,
    mode: Mode,
    /// Tool calls waiting for a yes or no, oldest first.
    approvals: VecDeque<(String, String)>,
    /// Lines that arrived while a reply was coming, to use in order.
    queued: VecDeque<String>,
    awaiting_reply: bool,
    stdin_closed: bool,
    /// Whether a person types on stdin (then the text mode shows a prompt).
    interactive: bool,
    stopping: bool,
    upload_noted: bool,
    user_transcript_seen: bool,
    deadline: Option<Instant>,
}

impl Driver {
    pub(crate) fn new(
        handle: AgentHandle,
        events: AgentEvents,
        renderer: Renderer,
        mode: Mode,
    ) -> Driver {
        Driver {
            ctrl_c: CtrlC::new(),
            handle,
            events,
            renderer,
            console: Console::start(),
            mode,
            approvals: VecDeque::new(),
            queued: VecDeque::new(),
            awaiting_reply: false,
            stdin_closed: false,
            interactive: std::io::IsTerminal::is_terminal(&std::io::stdin()),
            stopping: false,
            upload_noted: false,
            user_transcript_seen: false,
            deadline: None,
        }
    }

    /// Runs until the agent's events end (it has stopped); gives the renderer back, and whether
    /// the user quit without waiting for that.
    ///
    /// The first Ctrl-C shuts the agent down cleanly; a second one returns at once, so that the
    /// caller (perhaps a user's own binary) ends with status 130 after its own clean-up rather
    /// than the process exiting under it.
    pub(crate) async fn run(mut self) -> (Renderer, Quit) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let ticking = self.deadline.is_some() || matches!(self.mode, Mode::File(_));
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(event) => self.on_event(event).await,
                    None => break,
                },
                line = self.console.next_line(), if !self.stdin_closed => match line {
                    Some(line) => self.on_line(line).await,
                    None => self.on_stdin_closed().await,
                },
                () = self.ctrl_c.recv() => {
                    if self.stopping {
                        self.renderer.note("interrupted again: quitting now");
                        return (self.renderer, Quit::Now);
                    }
                    self.renderer.note("ending the session…");
                    self.stop();
                }
                _ = tick.tick(), if ticking => self.on_tick(),
            }
        }
        self.renderer.finish();
        (self.renderer, Quit::AfterTheSession)
    }

    fn stop(&mut self) {
        if !self.stopping {
            self.stopping = true;
            self.handle.shutdown();
        }
    }

    async fn send(&mut self, text: String) {
        self.awaiting_reply = true;
        if self.handle.send_text(text).await.is_err() {
            self.awaiting_reply = false;
        }
    }

    async fn on_event(&mut self, event: AgentEvent) {
        // The upload's last note comes before anything the answer prints.
        if !matches!(event, AgentEvent::State(_)) {
            self.note_upload_end();
        }
        match &event {
            AgentEvent::ApprovalRequested {
                call_id,
                name,
                arguments,
                server,
            } => {
                // A hosted MCP tool is shown with its server, as its calls are.
                let qualified;
                let name = match server {
                    Some(server) => {
                        qualified = format!("{server}.{name}");
                        &qualified
                    }
                    None => name,
                };
                if let Some(answer) = self.queued.pop_front() {
                    self.renderer
                        .approval_prompt(name, arguments, Some(&answer));
                    self.decide(call_id.clone(), &answer).await;
                } else if self.stdin_closed {
                    self.renderer
                        .approval_prompt(name, arguments, Some("(no input)"));
                    let _ = self
                        .handle
                        .reject(call_id.clone(), Some(NO_INPUT.to_owned()))
                        .await;
                } else {
                    self.renderer.approval_prompt(name, arguments, None);
                    self.approvals.push_back((call_id.clone(), name.clone()));
                }
                return;
            }
            AgentEvent::UserTranscript { .. } => {
                self.user_transcript_seen = true;
                if self.deadline.is_some() {
                    self.renderer.event(&event);
                    self.stop();
                    return;
                }
            }
            _ => {}
        }
        self.renderer.event(&event);
        match event {
            AgentEvent::Idle => self.on_idle().await,
            AgentEvent::Ready { .. } => self.prompt(),
            _ => {}
        }
    }

    /// In an interactive text conversation, shows that a message can be typed.
    fn prompt(&mut self) {
        if self.interactive && matches!(self.mode, Mode::Text) && !self.awaiting_reply {
            self.renderer.prompt();
        }
    }

    async fn on_idle(&mut self) {
        self.awaiting_reply = false;
        match &self.mode {
            Mode::Text => {
                if let Some(next) = self.queued.pop_front() {
                    self.send(next).await;
                } else if self.stdin_closed {
                    self.stop();
                } else {
                    self.prompt();
                }
            }
            Mode::File(progress) => {
                if progress.transcription && !self.user_transcript_seen {
                    self.deadline = Some(Instant::now() + TRANSCRIPT_GRACE);
                } else {
                    self.stop();
                }
            }
            Mode::Voice { .. } => {}
        }
    }

    async fn on_line(&mut self, line: String) {
        if let Some((call_id, _name)) = self.approvals.pop_front() {
            self.decide(call_id, &line).await;
            return;
        }
        match &self.mode {
            Mode::Text => {
                if line.trim().is_empty() {
                    return;
                }
                if self.awaiting_reply {
                    self.queued.push_back(line);
                } else {
                    self.send(line).await;
                }
            }
            Mode::File(_) => {}
            Mode::Voice {
                push_to_talk: Some(ptt),
            } => {
                let ptt = ptt.clone();
                self.toggle_turn(&ptt).await;
            }
            Mode::Voice { push_to_talk: None } => {
                if !line.trim().is_empty() {
                    self.send(line).await;
                }
            }
        }
    }

    /// Push-to-talk: the first Enter opens the microphone (and stops the assistant), the second
    /// closes it and sends the turn.
    async fn toggle_turn(&mut self, ptt: &PushToTalk) {
        if ptt.open.load(Ordering::Acquire) {
            ptt.open.store(false, Ordering::Release);
            self.renderer.note("sent; press Enter to talk again");
            let _ = self.handle.commit().await;
        } else {
            let _ = self.handle.interrupt().await;
            let _ = self.handle.send_event(ClientEvent::clear_input()).await;
            ptt.open.store(true, Ordering::Release);
            self.renderer
                .note("● recording: speak, then press Enter to send");
        }
    }

    async fn decide(&mut self, call_id: String, answer: &str) {
        let answer = answer.trim();
        match answer.to_lowercase().as_str() {
            "y" | "yes" | "ok" | "sure" | "approve" => {
                let _ = self.handle.approve(call_id).await;
            }
            "" | "n" | "no" => {
                let _ = self.handle.reject(call_id, None).await;
            }
            // Anything else is the user's reason, passed on to the model.
            _ => {
                let _ = self.handle.reject(call_id, Some(answer.to_owned())).await;
            }
        }
    }

    async fn on_stdin_closed(&mut self) {
        self.stdin_closed = true;
        while let Some((call_id, _)) = self.approvals.pop_front() {
            let _ = self.handle.reject(call_id, Some(NO_INPUT.to_owned())).await;
        }
        if let Mode::Text = self.mode
            && !self.awaiting_reply
            && self.queued.is_empty()
        {
            self.stop();
        }
    }

    fn on_tick(&mut self) {
        self.note_upload_end();
        if let Mode::File(progress) = &self.mode
            && !self.upload_noted
        {
            let sent = Duration::from_millis(progress.sent_ms.load(Ordering::Acquire));
            let (label, total) = (progress.label.clone(), progress.total);
            self.renderer.progress(&label, sent, total);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.deadline = None;
            self.stop();
        }
    }

    /// In file mode, once the whole file is sent: completes the bar and says so, once.
    fn note_upload_end(&mut self) {
        let Mode::File(progress) = &self.mode else {
            return;
        };
        if self.upload_noted || !progress.ended.load(Ordering::Acquire) {
            return;
        }
        self.upload_noted = true;
        let (label, total) = (progress.label.clone(), progress.total);
        self.renderer.progress(&label, total, total);
        self.renderer.note(&format!(
            "sent {:.1} s of audio from {label}; waiting for the answer…",
            total.as_secs_f64()
        ));
    }
}

/// Ctrl-C, caught from the moment the driver exists (before the agent starts), so that an
/// early Ctrl-C also ends the session cleanly rather than killing the process.
#[cfg(unix)]
struct CtrlC(Option<tokio::signal::unix::Signal>);

#[cfg(unix)]
impl CtrlC {
    fn new() -> CtrlC {
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        if let Err(error) = &signal {
            tracing::warn!(%error, "cannot catch Ctrl-C");
        }
        CtrlC(signal.ok())
    }

    /// The next Ctrl-C. Cancel-safe.
    async fn recv(&mut self) {
        match &mut self.0 {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
}

#[cfg(not(unix))]
struct CtrlC;

#[cfg(not(unix))]
impl CtrlC {
    fn new() -> CtrlC {
        CtrlC
    }

    /// The next Ctrl-C.
    async fn recv(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The reason given to the model when nobody can answer an approval prompt.
const NO_INPUT: &str = "nobody could approve it: the agent's input (stdin) is closed";
