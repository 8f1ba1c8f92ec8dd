//! Alerts: each minute one node of the cluster finds which conditions hold,
//! keeps their state in the store (so whichever node looks next knows what
//! was sent), and tells the channels when one fires, while it holds (every
//! `repeat`), and when it clears.

use jiff::{SignedDuration, Timestamp};
use pacer_config::Conditions;
use pacer_connect::{Notice, NoticeStatus, Notifier};
use pacer_store::{Alert, ExecutionQuery, ExecutionState, Minute, TaskStatus};

use crate::{Error, state::Inner};

/// One node a minute evaluates the alerts; a claim this old is free again.
const ALERT_ROUND: SignedDuration = SignedDuration::from_secs(50);

/// A fired alert is resolved once its condition stayed clear this long: a
/// condition that flaps at each schedule's boundary is not sent twice a
/// run.
const CLEAR_FOR: SignedDuration = SignedDuration::from_mins(5);

/// A system counts as at its rate from this share of it in a minute.
const AT_RATE_SHARE: f64 = 0.9;

/// A node silent this long that did not say it stopped is lost; one
/// silent for longer than [`LOST_FOR`] is forgotten.
pub(crate) const LOST_AFTER: SignedDuration = SignedDuration::from_mins(3);
const LOST_FOR: SignedDuration = SignedDuration::from_hours(24);

/// How far back a streak of failed executions is looked for.
const HISTORY: SignedDuration = SignedDuration::from_hours(24 * 30);

/// An engine's alerting: when, where, how often again.
#[derive(Debug)]
pub(crate) struct Alerting {
    pub(crate) conditions: Conditions,
    pub(crate) notifier: Notifier,
    pub(crate) repeat: SignedDuration,
}

/// A condition that holds now for a subject.
#[derive(Debug)]
struct Holding {
    condition: &'static str,
    subject: String,
    message: String,
    /// How long it must hold before it fires.
    after: SignedDuration,
}

/// The names of the conditions `conditions` switches on.
pub(crate) fn enabled(conditions: &Conditions) -> Vec<&'static str> {
    [
        ("dead_tasks", conditions.dead_tasks.is_some()),
        ("failed_runs", conditions.failed_runs.is_some()),
        ("backlog", conditions.backlog),
        ("at_rate", conditions.at_rate.is_some()),
        ("at_capacity", conditions.at_capacity.is_some()),
        ("node_lost", conditions.node_lost),
        ("drift", conditions.drift),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

impl Inner {
    /// This minute's round of alerts, when this node gets it.
    pub(crate) async fn alert(&self) -> Result<(), Error> {
        let Some(alerting) = &self.alerting else {
            return Ok(());
        };
        let Some(now) = self.take_chore("alerts", ALERT_ROUND).await? else {
            return Ok(());
        };
        let holding = self.holding(&alerting.conditions, now).await?;
        let open = self.store.alerts().await?;
        for held in &holding {
            let before = open
                .iter()
                .find(|a| a.condition == held.condition && a.subject == held.subject);
            let mut alert = before.cloned().unwrap_or_else(|| Alert {
                condition: held.condition.to_string(),
                subject: held.subject.clone(),
                message: String::new(),
                since: now,
                fired_at: None,
                sent_at: None,
                cleared_at: None,
            });
            alert.message.clone_from(&held.message);
            alert.cleared_at = None;
            let due = match (alert.fired_at, alert.sent_at) {
                (None, _) => now.duration_since(alert.since) >= held.after,
                (Some(_), Some(sent)) => now.duration_since(sent) >= alerting.repeat,
                (Some(_), None) => true,
            };
            if due && self.notify(alerting, &alert, NoticeStatus::Firing).await {
                alert.fired_at.get_or_insert(now);
                alert.sent_at = Some(now);
            }
            if before != Some(&alert) {
                self.store.put_alert(&alert).await?;
            }
        }
        for alert in &open {
            let holds = holding
                .iter()
                .any(|h| h.condition == alert.condition && h.subject == alert.subject);
            if holds {
                continue;
            }
            // Not fired yet: forgotten, its wait starts over. Fired: clear
            // for a while, then told, or tried again next minute.
            if alert.fired_at.is_some() {
                let cleared = alert.cleared_at.unwrap_or(now);
                if now.duration_since(cleared) < CLEAR_FOR {
                    if alert.cleared_at.is_none() {
                        let clearing = Alert {
                            cleared_at: Some(now),
                            ..alert.clone()
                        };
                        self.store.put_alert(&clearing).await?;
                    }
                    continue;
                }
                if !self.notify(alerting, alert, NoticeStatus::Resolved).await {
                    continue;
                }
            }
            self.store
                .close_alert(&alert.condition, &alert.subject)
                .await?;
        }
        Ok(())
    }

    /// Tells every channel; `true` when at least one took it.
    async fn notify(&self, alerting: &Alerting, alert: &Alert, status: NoticeStatus) -> bool {
        let since = alert.since.to_zoned(self.tz.clone()).to_string();
        let since = since.split('[').next().unwrap_or(&since);
        let notice = Notice {
            environment: &self.environment,
            status,
            condition: &alert.condition,
            subject: &alert.subject,
            message: &alert.message,
            since,
        };
        let mut any = false;
        for (channel, outcome) in alerting.notifier.send(&notice).await {
            let outcome_name = if outcome.is_ok() { "sent" } else { "failed" };
            self.counters.update(|s| {
                *s.notifications
                    .entry((channel.clone(), outcome_name))
                    .or_default() += 1;
            });
            match outcome {
                Ok(()) => {
                    any = true;
                    tracing::info!(
                        channel,
                        condition = alert.condition,
                        subject = alert.subject,
                        status = status.as_str(),
                        "alert sent"
                    );
                }
                Err(e) => {
                    tracing::warn!(channel, condition = alert.condition, subject = alert.subject, error = %e, "an alert could not be sent; tried again next minute");
                }
            }
        }
        any
    }

    /// The conditions that hold now.
    async fn holding(&self, when: &Conditions, now: Timestamp) -> Result<Vec<Holding>, Error> {
        let mut holding = Vec::new();
        let at_once = SignedDuration::ZERO;
        if let Some(threshold) = when.dead_tasks {
            for (integration, status, n) in self.store.task_counts().await? {
                if status == TaskStatus::Dead && n >= u64::from(threshold) {
                    let tasks = if n == 1 { "task" } else { "tasks" };
                    holding.push(Holding {
                        condition: "dead_tasks",
                        message: format!(
                            "{n} dead {tasks} in {integration}: each failed too often or cannot be sent; \
                             see /tasks?integration={integration}&status=dead, and replay them once the cause is fixed"
                        ),
                        subject: integration,
                        after: at_once,
                    });
                }
            }
        }
        if let Some(runs) = when.failed_runs {
            for job in &self.jobs {
                let query = ExecutionQuery {
                    job: Some(job.name.clone()),
                    since: now - HISTORY,
                    limit: runs + 10,
                    ..ExecutionQuery::default()
                };
                // Ended ones only: one running now neither breaks nor makes a streak.
                let ended: Vec<_> = self
                    .store
                    .history(&query)
                    .await?
                    .into_iter()
                    .filter(|e| !e.state.is_open() && e.state != ExecutionState::Skipped)
                    .take(runs as usize)
                    .collect();
                if ended.len() == runs as usize && ended.iter().all(|e| e.state.is_failure()) {
                    let last = ended[0].error.as_deref().unwrap_or("no reason kept");
                    holding.push(Holding {
                        condition: "failed_runs",
                        subject: job.name.clone(),
                        message: format!(
                            "the last {runs} executions of {} failed or were missed; the last: {last}",
                            job.name
                        ),
                        after: at_once,
                    });
                }
            }
        }
        if when.backlog {
            for (integration, oldest) in self.store.oldest_queued().await? {
                let Some(&freshness) = self.freshness.get(&integration) else {
                    continue;
                };
                let age = now.duration_since(oldest);
                if age > freshness {
                    holding.push(Holding {
                        condition: "backlog",
                        message: format!(
                            "the oldest change queued in {integration} waits for {} min, longer than its freshness of {} min",
                            age.as_mins(),
                            freshness.as_mins()
                        ),
                        subject: integration,
                        after: at_once,
                    });
                }
            }
        }
        if let Some(after) = when.at_rate {
            let last = Minute::containing(now) - 1;
            let limits = self.limits.per_minute();
            for (budget, window, used) in self.store.rate_usage(last).await? {
                let Some(&limit) = limits.get(&budget) else {
                    continue;
                };
                if window == last && used as f64 >= AT_RATE_SHARE * f64::from(limit) {
                    holding.push(Holding {
                        condition: "at_rate",
                        message: format!(
                            "{budget} is at its rate: {used} of {limit} in the last minute, for {} min or more; \
                             changes wait for it, so freshness may suffer",
                            after.as_mins()
                        ),
                        subject: budget,
                        after,
                    });
                }
            }
        }
        if let Some(after) = when.at_capacity {
            let in_use = self.store.slots_in_use(self.capacity, now).await?;
            if in_use >= self.capacity {
                holding.push(Holding {
                    condition: "at_capacity",
                    subject: "capacity".into(),
                    message: format!(
                        "all {} capacity slots are taken, for {} min or more; executions wait and may be missed",
                        self.capacity,
                        after.as_mins()
                    ),
                    after,
                });
            }
        }
        if when.drift {
            let seen = self.seen().await?;
            for d in seen.drifts.integrations.iter().filter(|d| d.drifted) {
                let (Some(observed), Some(ratio)) = (d.observed_peak_day, d.ratio) else {
                    continue;
                };
                holding.push(Holding {
                    condition: "drift",
                    subject: d.integration.clone(),
                    message: format!(
                        "{} changed {observed} times on its busiest day of the last {} days, \
                         the file plans for {:.0} ({:+.0}%); `pacer plan FILE --observed` \
                         suggests the figures to declare",
                        d.integration,
                        crate::observed::SEEN_DAYS,
                        d.declared_peak_day,
                        (ratio - 1.0) * 100.0
                    ),
                    after: at_once,
                });
            }
            for d in seen.drifts.systems.iter().filter(|d| d.drifted) {
                let Some(accepted) = d.accepted_per_minute else {
                    continue;
                };
                holding.push(Holding {
                    condition: "drift",
                    subject: d.system.clone(),
                    message: format!(
                        "{} said slow down at {accepted:.0} a minute (the median of the minutes \
                         it did, over the last {} days), the file says {}/min; \
                         `pacer plan FILE --observed` plans at what it takes",
                        d.system,
                        crate::observed::SEEN_DAYS,
                        d.declared_per_minute
                    ),
                    after: at_once,
                });
            }
        }
        if when.node_lost {
            for (node, seen) in self
                .store
                .nodes_lost(now - LOST_AFTER, now - LOST_FOR)
                .await?
            {
                let seen = seen
                    .to_zoned(self.tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S %Z");
                holding.push(Holding {
                    condition: "node_lost",
                    message: format!(
                        "node {node} last beat at {seen} and did not stop cleanly; the live nodes took over its work"
                    ),
                    subject: node,
                    after: at_once,
                });
            }
        }
        Ok(holding)
    }
}
