//! Keeping the session up: putting a connection in place, reconnecting with backoff and
//! replay, rotating before the session's time limit.

use super::*;

impl Loop {
    /// Puts a new connection in place: configure, replay, send what waited.
    pub(super) async fn install(&mut self, connection: Connection, replay: bool) -> usize {
        let (sender, events, guard) = connection.into_parts();
        let mut replayed = 0;
        let _ = sender
            .send(ClientEvent::session_update(self.session.clone()))
            .await;
        if replay {
            let items: Vec<Item> = self.history.items().cloned().collect();
            for item in items {
                if sender.send(ClientEvent::item_create(item)).await.is_ok() {
                    replayed += 1;
                }
            }
        }
        while let Some(event) = self.outbox.pop_front() {
            if sender.send(event.clone()).await.is_err() {
                self.outbox.push_front(event);
                break;
            }
            self.remember(&event);
        }
        self.gate.reset();
        let _ = self.sender_watch.send(Some(sender.clone()));
        if let Some(old) = self.live.replace(Live {
            sender,
            events,
            guard,
            opened: Instant::now(),
        }) {
            // A rotation: the old session is no longer needed.
            old.sender.close().await;
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                old.guard.shutdown().await;
            });
        }
        replayed
    }

    pub(super) fn on_closed(&mut self, info: CloseInfo) -> Result<(), crate::Error> {
        let was_rotating = self.reconnect.as_ref().is_some_and(|r| r.rotation);
        self.live = None;
        let _ = self.sender_watch.send(None);
        if self.shutdown.is_cancelled() {
            return Ok(());
        }
        let reason = match info.code {
            Some(code) => format!("closed by the server ({code}) {}", info.reason),
            None => info.reason.clone(),
        };
        tracing::warn!(%reason, "connection lost");
        if self.settings.reconnect.max_attempts == 0 {
            return Err(crate::Error::Disconnected(info));
        }
        // Responses in flight on the old connection are gone: their calls' outputs go to the new
        // session, and a finished batch asks for its follow-up there.
        if self.calls.connection_lost() | self.forget_hosted_approvals() {
            self.gate.want(Want::ToolOutputs);
        }
        self.gate.reset();
        if was_rotating && self.reconnect.is_some() {
            return Ok(());
        }
        self.schedule_reconnect(1, None, reason);
        Ok(())
    }

    pub(super) fn schedule_reconnect(
        &mut self,
        attempt: u32,
        at_least: Option<Duration>,
        reason: String,
    ) {
        let delay = self.settings.reconnect.delay(attempt, at_least);
        self.bus.emit(AgentEvent::Reconnecting {
            attempt,
            delay,
            reason,
        });
        self.reconnect = Some(Reconnect {
            attempt,
            at: tokio::time::Instant::now() + delay,
            task: None,
            rotation: false,
        });
    }

    pub(super) fn start_reconnect(&mut self) {
        let options = self.settings.connect.clone();
        let recorder = self.settings.recorder.clone();
        if let Some(plan) = &mut self.reconnect {
            plan.task = Some(tokio::spawn(async move {
                connect_with_recorder(&options, recorder).await
            }));
        }
    }

    pub(super) async fn on_reconnected(
        &mut self,
        result: Result<Connection, ConnectError>,
    ) -> Result<(), crate::Error> {
        let Some(plan) = self.reconnect.take() else {
            return Ok(());
        };
        match result {
            Ok(connection) => {
                let replayed = self.install(connection, true).await;
                self.bus.emit(AgentEvent::Reconnected {
                    replayed_items: replayed,
                });
                Ok(())
            }
            Err(error) if plan.rotation => {
                // The old session is still up: try again at the next turn boundary.
                tracing::warn!(%error, "could not open the replacement session");
                Ok(())
            }
            Err(error) => {
                let attempt = plan.attempt + 1;
                if !error.is_retryable() || attempt > self.settings.reconnect.max_attempts {
                    return Err(crate::Error::ReconnectFailed {
                        attempts: plan.attempt,
                        last: error,
                    });
                }
                let at_least = error.retry_after();
                self.schedule_reconnect(attempt, at_least, error.to_string());
                Ok(())
            }
        }
    }

    /// Opens a replacement session ahead of the server's time limit, at a turn boundary.
    pub(super) fn maybe_rotate(&mut self) {
        let (Some(limit), Some(live)) = (self.settings.max_session, &self.live) else {
            return;
        };
        if self.reconnect.is_some() || live.opened.elapsed() < limit {
            return;
        }
        if self.gate.busy() || self.calls.any_running() || self.user_speaking {
            return;
        }
        tracing::info!("rotating to a new session before the time limit");
        self.reconnect = Some(Reconnect {
            attempt: 1,
            at: tokio::time::Instant::now(),
            task: None,
            rotation: true,
        });
        self.start_reconnect();
    }
}
