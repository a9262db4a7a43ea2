//! Tool calls: started the moment their arguments are complete, polled once where they arrive
//! (a tool that does not wait answers without a task switch) and otherwise continued on a task
//! of their own, answered as each finishes; grouped by the response that asked for them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::event::{AgentEvent, ToolStatus};
use crate::ApiKey;
use crate::tool::{
    OnInterrupt, SessionInfo, ToolContext, ToolError, ToolRegistry, ToolSignal, output,
};

/// Progress notes and early answers waiting for the loop; past this a tool's note is dropped
/// (a tool never waits on reporting).
const SIGNAL_CAPACITY: usize = 256;

/// The user's decision on a call that needs approval.
#[derive(Debug)]
pub(crate) enum Decision {
    Approve,
    Reject(Option<String>),
}

/// A finished call, ready to be posted.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) call_id: String,
    pub(crate) output: String,
    pub(crate) status: ToolStatus,
}

struct Running {
    name: String,
    arguments: String,
    response_id: String,
    started: Instant,
    cancel: CancellationToken,
    on_interrupt: OnInterrupt,
    /// Say a filler once the call has run this long.
    filler_after: Option<Duration>,
    /// A filler was asked for (or is no longer wanted).
    filler_said: bool,
    /// The call answered early ([`ToolContext::answer_now`]); its result comes later, outside
    /// any batch.
    background: bool,
}

#[derive(Default)]
struct Batch {
    calls: Vec<String>,
    open: usize,
    response_done: bool,
    interrupted: bool,
}

/// A finished call's record once its output is posted.
pub(crate) struct Posted {
    pub(crate) event: AgentEvent,
    /// The batch this call belonged to is now complete and wants a follow-up response.
    pub(crate) batch_ready: bool,
}

pub(crate) struct Calls {
    registry: Arc<ToolRegistry>,
    session: Arc<SessionInfo>,
    /// Secrets no program a tool starts may see (the agent's key).
    withheld: Arc<[ApiKey]>,
    tasks: JoinSet<Finished>,
    /// Calls that finished on their first poll, before needing a task of their own.
    ready: VecDeque<Finished>,
    running: HashMap<String, Running>,
    started: HashSet<String>,
    batches: HashMap<String, Batch>,
    approvals: HashMap<String, oneshot::Sender<Decision>>,
    /// Hosted MCP approval requests waiting for the user, each holding its response's batch
    /// open: approval request id to response id.
    held: HashMap<String, String>,
    /// Tools removed from the session (and not added back): a call to one gets an output that
    /// says so rather than "unknown tool".
    removed: HashSet<String>,
    /// Cancels every call when the session ends.
    session_cancel: CancellationToken,
    signals_tx: mpsc::Sender<ToolSignal>,
    signals: mpsc::Receiver<ToolSignal>,
}

/// What [`Calls::next_event`] gives.
pub(crate) enum CallEvent {
    /// A running call reported progress or answered early.
    Signal(ToolSignal),
    /// A call finished.
    Finished(Finished),
}

/// The next finished task. Cancel-safe. Pending forever when nothing runs.
async fn join_finished(tasks: &mut JoinSet<Finished>) -> Finished {
    loop {
        match tasks.join_next().await {
            Some(Ok(finished)) => return finished,
            // Tasks catch their own panics; an abort only happens at shutdown.
            Some(Err(_)) => continue,
            None => std::future::pending::<()>().await,
        }
    }
}

/// A call that should hear a filler now.
pub(crate) struct FillerDue {
    pub(crate) call_id: String,
    pub(crate) name: String,
}

impl Calls {
    pub(crate) fn new(
        registry: Arc<ToolRegistry>,
        session: SessionInfo,
        withheld: Arc<[ApiKey]>,
    ) -> Self {
        let (signals_tx, signals) = mpsc::channel(SIGNAL_CAPACITY);
        Calls {
            signals_tx,
            signals,
            registry,
            session: Arc::new(session),
            withheld,
            tasks: JoinSet::new(),
            ready: VecDeque::new(),
            running: HashMap::new(),
            started: HashSet::new(),
            batches: HashMap::new(),
            approvals: HashMap::new(),
            held: HashMap::new(),
            removed: HashSet::new(),
            session_cancel: CancellationToken::new(),
        }
    }

    pub(crate) fn set_session_id(&mut self, id: &str) {
        let mut info = (*self.session).clone();
        info.session_id = Some(id.to_owned());
        self.session = Arc::new(info);
    }

    /// The tools calls are looked up in.
    pub(crate) fn registry(&self) -> &ToolRegistry {
        &self.registry
    }

    /// Replaces the tools new calls are looked up in; `removed` are the names that went.
    /// Running calls keep the tool they started with.
    pub(crate) fn set_registry(&mut self, registry: Arc<ToolRegistry>, removed: Vec<String>) {
        self.removed.extend(removed);
        self.removed.retain(|name| registry.get(name).is_none());
        self.registry = registry;
    }

    /// Whether any call of the conversation's turn is running (background calls are not: the
    /// conversation goes on while they work).
    pub(crate) fn any_running(&self) -> bool {
        !self.held.is_empty() || self.running.values().any(|r| !r.background)
    }

    /// A hosted MCP approval request `id` of response `response_id` waits for the user: its
    /// answer belongs to that response's batch, so that one `response.create` follows the
    /// batch, not one per answer. False when it is already held (both of its announcements
    /// arrive).
    pub(crate) fn hold(&mut self, response_id: &str, id: &str) -> bool {
        if self.held.contains_key(id) || !self.started.insert(id.to_owned()) {
            return false;
        }
        let batch = self.batches.entry(response_id.to_owned()).or_default();
        batch.open += 1;
        batch.calls.push(id.to_owned());
        self.held.insert(id.to_owned(), response_id.to_owned());
        true
    }

    /// Whether the hosted MCP approval request `id` waits for the user.
    pub(crate) fn is_held(&self, id: &str) -> bool {
        self.held.contains_key(id)
    }

    /// The hosted MCP approval request `id` was answered. `None` when it was not held; else
    /// whether its batch is now complete and wants a follow-up response.
    pub(crate) fn release(&mut self, id: &str) -> Option<bool> {
        let response_id = self.held.remove(id)?;
        Some(match self.batches.get_mut(&response_id) {
            Some(batch) => {
                batch.open -= 1;
                self.settle(&response_id)
            }
            None => false,
        })
    }

    /// Forgets every held approval request (their session is gone); their batches settle.
    /// Returns whether a batch is now complete and wants a follow-up response.
    pub(crate) fn release_all(&mut self) -> bool {
        let ids: Vec<String> = self.held.keys().cloned().collect();
        let mut ready = false;
        for id in ids {
            ready |= self.release(&id).unwrap_or(false);
        }
        ready
    }

    /// The name of a running call.
    pub(crate) fn name_of(&self, call_id: &str) -> Option<&str> {
        self.running.get(call_id).map(|r| r.name.as_str())
    }

    /// A call whose filler is due by `now` and not yet said, if any.
    pub(crate) fn filler_due(&self, now: Instant) -> Option<FillerDue> {
        self.running
            .iter()
            .filter(|(_, r)| !r.filler_said && !r.background)
            .find(|(_, r)| r.filler_after.is_some_and(|after| r.started + after <= now))
            .map(|(call_id, r)| FillerDue {
                call_id: call_id.clone(),
                name: r.name.clone(),
            })
    }

    /// When the next filler falls due, after `now`; `None` when none is pending.
    pub(crate) fn next_filler_at(&self, now: Instant) -> Option<Instant> {
        self.running
            .values()
            .filter(|r| !r.filler_said && !r.background)
            .filter_map(|r| r.filler_after.map(|after| r.started + after))
            .filter(|at| *at > now)
            .min()
    }

    /// A filler was asked for `call_id` (or one covers it): no other for this call.
    pub(crate) fn filler_said(&mut self, call_id: &str) {
        if let Some(running) = self.running.get_mut(call_id) {
            running.filler_said = true;
        }
    }

    /// Whether `call_id` answered early and runs on in the background.
    pub(crate) fn is_background(&self, call_id: &str) -> bool {
        self.running.get(call_id).is_some_and(|r| r.background)
    }

    /// `call_id` answered early: it leaves its batch (whose response may now follow) and runs
    /// on. `None` when it is not running or already answered; else whether its batch is now
    /// complete and wants a follow-up response.
    pub(crate) fn answered_early(&mut self, call_id: &str) -> Option<bool> {
        let running = self.running.get_mut(call_id)?;
        if running.background {
            return None;
        }
        running.background = true;
        let response_id = running.response_id.clone();
        Some(match self.batches.get_mut(&response_id) {
            Some(batch) => {
                batch.open -= 1;
                self.settle(&response_id)
            }
            None => false,
        })
    }

    /// Starts call `call_id` of response `response_id` unless it was started already (the
    /// arguments' `done` event and the item's `done` event both announce it). Returns the
    /// events to report.
    pub(crate) fn start(
        &mut self,
        response_id: &str,
        call_id: &str,
        name: &str,
        arguments: &str,
    ) -> Vec<AgentEvent> {
        if !self.started.insert(call_id.to_owned()) {
            return Vec::new();
        }
        let cancel = self.session_cancel.child_token();
        let mut events = vec![AgentEvent::ToolStarted {
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        }];
        let registered = self.registry.get(name).cloned();
        let on_interrupt = registered
            .as_ref()
            .map_or(OnInterrupt::Keep, |r| r.options().on_interrupt);
        let batch = self.batches.entry(response_id.to_owned()).or_default();
        batch.open += 1;
        batch.calls.push(call_id.to_owned());
        self.running.insert(
            call_id.to_owned(),
            Running {
                name: name.to_owned(),
                arguments: arguments.to_owned(),
                response_id: response_id.to_owned(),
                started: Instant::now(),
                cancel: cancel.clone(),
                on_interrupt,
                filler_after: registered.as_ref().and_then(|r| r.options().filler_after),
                filler_said: false,
                background: false,
            },
        );
        let call_id = call_id.to_owned();
        let Some(registered) = registered else {
            let available = self.registry.names();
            let output = if self.removed.contains(name) {
                output::removed_tool(name, &available)
            } else {
                output::unknown_tool(name, &available)
            };
            self.ready.push_back(Finished {
                call_id,
                output,
                status: ToolStatus::UnknownTool,
            });
            return events;
        };
        let options = registered.options();
        let approval = if options.requires_approval {
            let (tx, rx) = oneshot::channel();
            self.approvals.insert(call_id.clone(), tx);
            events.push(AgentEvent::ApprovalRequested {
                call_id: call_id.clone(),
                name: name.to_owned(),
                arguments: arguments.to_owned(),
                server: None,
            });
            Some(rx)
        } else {
            None
        };
        let tool = registered.tool().clone();
        let ctx = ToolContext::new(call_id.as_str(), cancel.clone(), self.session.clone())
            .with_withheld_secrets(self.withheld.clone())
            .with_signals(self.signals_tx.clone());
        let arguments = arguments.to_owned();
        let (task_call_id, task_name) = (call_id.clone(), name.to_owned());
        let session = self.session_cancel.clone();
        let call = Box::pin(async move {
            let (output, status) = run_call(
                &*tool,
                &task_name,
                &arguments,
                ctx,
                Cancel {
                    call: cancel,
                    session,
                },
                options.timeout,
                approval,
            )
            .await;
            Finished {
                call_id: task_call_id,
                output,
                status,
            }
        });
        match poll_once(call) {
            FirstPoll::Ready(finished) => self.ready.push_back(finished),
            FirstPoll::Pending(call) => {
                self.tasks.spawn(call);
            }
            FirstPoll::Panicked(panic) => self.ready.push_back(Finished {
                call_id,
                output: output::panicked(name, &*panic),
                status: ToolStatus::Panicked,
            }),
        }
        events
    }

    /// The next thing a call has to say: a progress note or early answer first (a call that
    /// answered early and then returned at once must be seen answering first), else a
    /// finished call. Cancel-safe. Pending forever when nothing runs.
    pub(crate) async fn next_event(&mut self) -> CallEvent {
        if let Ok(signal) = self.signals.try_recv() {
            return CallEvent::Signal(signal);
        }
        if let Some(finished) = self.ready.pop_front() {
            return CallEvent::Finished(finished);
        }
        let (signals, tasks) = (&mut self.signals, &mut self.tasks);
        tokio::select! {
            biased;
            Some(signal) = signals.recv() => CallEvent::Signal(signal),
            finished = join_finished(tasks) => CallEvent::Finished(finished),
        }
    }

    /// Records that `finished`'s output has been posted.
    pub(crate) fn posted(&mut self, finished: &Finished) -> Option<Posted> {
        let running = self.running.remove(&finished.call_id)?;
        self.approvals.remove(&finished.call_id);
        let event = AgentEvent::ToolFinished {
            call_id: finished.call_id.clone(),
            name: running.name,
            arguments: running.arguments,
            output: finished.output.clone(),
            status: finished.status,
            duration: running.started.elapsed(),
        };
        // A background call left its batch when it answered early.
        let batch_ready = match self.batches.get_mut(&running.response_id) {
            Some(batch) if !running.background => {
                batch.open -= 1;
                self.settle(&running.response_id)
            }
            _ => false,
        };
        Some(Posted { event, batch_ready })
    }

    /// The response `response_id` is done. Returns whether its batch of calls (if it had one)
    /// now wants a follow-up response.
    pub(crate) fn response_done(&mut self, response_id: &str) -> bool {
        match self.batches.get_mut(response_id) {
            Some(batch) => {
                batch.response_done = true;
                self.settle(response_id)
            }
            None => false,
        }
    }

    /// Removes a finished batch; true when it completed without an interruption.
    fn settle(&mut self, response_id: &str) -> bool {
        let Some(batch) = self.batches.get(response_id) else {
            return false;
        };
        if batch.open > 0 || !batch.response_done {
            return false;
        }
        let ready = !batch.interrupted;
        // Both announcements of a call come before its response's `done`, so its id can go.
        if let Some(batch) = self.batches.remove(response_id) {
            for call_id in batch.calls {
                self.started.remove(&call_id);
            }
        }
        ready
    }

    /// The connection dropped: the responses that asked for the open batches will never send
    /// `response.done`, so each counts as done. Returns whether a batch is now complete and
    /// wants a follow-up response (on the next connection).
    pub(crate) fn connection_lost(&mut self) -> bool {
        let ids: Vec<String> = self.batches.keys().cloned().collect();
        let mut ready = false;
        for id in ids {
            ready |= self.response_done(&id);
        }
        ready
    }

    /// The user barged in: no batch that is open now forces a response over the user's turn,
    /// and `cancel` tools are cancelled (their output says so).
    pub(crate) fn interrupt(&mut self) {
        for batch in self.batches.values_mut() {
            batch.interrupted = true;
        }
        for running in self.running.values() {
            if running.on_interrupt == OnInterrupt::Cancel {
                running.cancel.cancel();
            }
        }
    }

    /// The user's decision on a call awaiting approval. False when no such call waits.
    pub(crate) fn decide(&mut self, call_id: &str, decision: Decision) -> bool {
        match self.approvals.remove(call_id) {
            Some(tx) => tx.send(decision).is_ok(),
            None => false,
        }
    }

    /// Ends every call: cancels them through their tokens, gives them `grace` to finish, then
    /// aborts what is left and waits for it, so no task outlives the agent. Returns every call
    /// not yet answered: those that had finished (and were waiting for the loop) or finished
    /// within the grace, with their outputs, and the rest as cancelled. A tool that ran is
    /// always answered and reported, even when the session ends at that moment.
    pub(crate) async fn shutdown(&mut self, grace: Duration) -> Vec<Finished> {
        self.session_cancel.cancel();
        let mut finished: Vec<Finished> = self.ready.drain(..).collect();
        let tasks = &mut self.tasks;
        let _ = tokio::time::timeout(grace, async {
            while let Some(joined) = tasks.join_next().await {
                // Tasks catch their own panics; nothing else aborts them before this.
                if let Ok(call) = joined {
                    finished.push(call);
                }
            }
        })
        .await;
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        // Calls whose futures were dropped at the end of the grace.
        let mut dropped: Vec<Finished> = self
            .running
            .iter()
            .filter(|(call_id, _)| !finished.iter().any(|f| &f.call_id == *call_id))
            .map(|(call_id, running)| Finished {
                call_id: call_id.clone(),
                output: output::session_ended(&running.name),
                status: ToolStatus::Cancelled,
            })
            .collect();
        dropped.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        finished.extend(dropped);
        self.approvals.clear();
        self.held.clear();
        finished
    }
}

/// What polling a call once where it arrives gave.
enum FirstPoll<F> {
    /// It finished without waiting: no task needed.
    Ready(Finished),
    /// It waits for something: it continues on a task of its own.
    Pending(F),
    /// It panicked outside the tool's own future (a tool whose `call_json` panics before it
    /// returns a future): the payload, for the failure output.
    Panicked(Box<dyn std::any::Any + Send>),
}

/// Polls `call` once in place, so a tool that never waits answers without a task switch. The
/// waker is a no-op: a call that is not ready is spawned at once, and the task's first poll
/// registers the real waker with whatever the call waits on.
fn poll_once<F>(mut call: std::pin::Pin<Box<F>>) -> FirstPoll<std::pin::Pin<Box<F>>>
where
    F: std::future::Future<Output = Finished>,
{
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::panic::catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(&mut cx))) {
        Ok(std::task::Poll::Ready(finished)) => FirstPoll::Ready(finished),
        Ok(std::task::Poll::Pending) => FirstPoll::Pending(call),
        Err(panic) => FirstPoll::Panicked(panic),
    }
}

/// How long a cancelled tool may take to notice its token before its future is dropped.
const CANCEL_GRACE: Duration = Duration::from_millis(250);

/// A call's cancellation: its own token (cancelled by a barge-in, or with the session's), and
/// the session's, to say which it was.
struct Cancel {
    call: CancellationToken,
    session: CancellationToken,
}

impl Cancel {
    /// The output for the call cancelled: the user interrupted, or the session ended.
    fn output(&self, name: &str) -> (String, ToolStatus) {
        let output = if self.session.is_cancelled() {
            output::session_ended(name)
        } else {
            output::cancelled(name)
        };
        (output, ToolStatus::Cancelled)
    }
}

/// Runs one call to its output: approval, the call itself under its timeout, panics caught,
/// cancellation through the token.
async fn run_call(
    tool: &dyn crate::tool::DynTool,
    name: &str,
    arguments: &str,
    ctx: ToolContext,
    cancel: Cancel,
    timeout: Duration,
    approval: Option<oneshot::Receiver<Decision>>,
) -> (String, ToolStatus) {
    if let Some(approval) = approval {
        let decision = tokio::select! {
            _ = cancel.call.cancelled() => return cancel.output(name),
            decision = approval => decision,
        };
        match decision {
            Ok(Decision::Approve) => {}
            Ok(Decision::Reject(reason)) => {
                return (
                    output::rejected(name, reason.as_deref()),
                    ToolStatus::Rejected,
                );
            }
            Err(_) => {
                return (
                    output::rejected(name, Some("no decision was made")),
                    ToolStatus::Rejected,
                );
            }
        }
    }
    let call = AssertUnwindSafe(tool.call_json(arguments, ctx)).catch_unwind();
    let call = tokio::time::timeout(timeout, call);
    tokio::pin!(call);
    let outcome = tokio::select! {
        biased;
        _ = cancel.call.cancelled() => {
            // Let the tool see its token and clean up, briefly; then it is dropped either way.
            let _ = tokio::time::timeout(CANCEL_GRACE, &mut call).await;
            return cancel.output(name);
        }
        outcome = &mut call => outcome,
    };
    match outcome {
        Err(_) => (output::timed_out(name, timeout), ToolStatus::TimedOut),
        Ok(Err(panic)) => (output::panicked(name, &*panic), ToolStatus::Panicked),
        Ok(Ok(Ok(text))) => (text, ToolStatus::Ok),
        Ok(Ok(Err(error))) => {
            let status = match &error {
                ToolError::InvalidArguments { .. } => ToolStatus::InvalidArguments,
                ToolError::Cancelled => ToolStatus::Cancelled,
                _ => ToolStatus::Failed,
            };
            (output::for_error(name, &error), status)
        }
    }
}
