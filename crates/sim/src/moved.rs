//! What an integration moved, in the words README defines, counted and
//! printed one way for `pacer demo` and `pacer simulate` alike.

use std::fmt::Write as _;

use pacer_store::{Store, TaskStatus};
use serde::Serialize;

/// An integration's records from its source to its destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// Records that changed at the source.
    pub changes: u64,
    /// Changes a pull read, each queued as a task (or kept dead when unreadable).
    pub pulled: u64,
    /// Changes still at the source: changes − pulled.
    pub not_pulled: u64,
    /// Tasks the destination accepted.
    pub delivered: u64,
    /// Tasks in the queue not delivered yet: new, being delivered, or
    /// failed and due to be retried.
    pub waiting: u64,
    /// Tasks that wait for a person.
    pub dead: u64,
    /// Changes not at their destination yet, wherever they are: changes − delivered.
    pub backlog: u64,
}

impl Moved {
    /// The figures, with the two that follow from them.
    pub fn new(changes: u64, pulled: u64, delivered: u64, waiting: u64, dead: u64) -> Moved {
        Moved {
            changes,
            pulled,
            not_pulled: changes.saturating_sub(pulled),
            delivered,
            waiting,
            dead,
            backlog: changes.saturating_sub(delivered),
        }
    }
}

impl Moved {
    /// The figures, with waiting and dead counted from the queue in `store`.
    pub async fn counted(
        store: &Store,
        integration: &str,
        changes: u64,
        pulled: u64,
        delivered: u64,
    ) -> Result<Moved, pacer_store::Error> {
        let mut waiting = 0;
        for status in [TaskStatus::New, TaskStatus::Failed, TaskStatus::Processing] {
            waiting += store.count(integration, status).await?;
        }
        let dead = store.count(integration, TaskStatus::Dead).await?;
        Ok(Moved::new(changes, pulled, delivered, waiting, dead))
    }
}

/// The table's heading, its words those of README's vocabulary.
pub const MOVED_HEADING: [&str; 7] = [
    "changes",
    "pulled",
    "not pulled yet",
    "delivered",
    "waiting",
    "dead",
    "backlog",
];

/// A row per integration, each figure under its word.
pub fn moved_table<'a>(rows: impl IntoIterator<Item = (&'a str, &'a Moved)>) -> String {
    let mut out = format!("{:<18}", "integration");
    for word in MOVED_HEADING {
        let _ = write!(out, " {word:>w$}", w = word.len().max(8));
    }
    out.push('\n');
    for (name, m) in rows {
        let _ = write!(out, "{name:<18}");
        let figures = [
            m.changes,
            m.pulled,
            m.not_pulled,
            m.delivered,
            m.waiting,
            m.dead,
            m.backlog,
        ];
        for (word, figure) in MOVED_HEADING.iter().zip(figures) {
            let _ = write!(out, " {figure:>w$}", w = word.len().max(8));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_pulled_and_backlog_follow_from_the_counts() {
        let m = Moved::new(3_184, 3_000, 2_800, 200, 0);
        assert_eq!((m.not_pulled, m.backlog), (184, 384));
        // A source that gives more than was counted never goes negative.
        assert_eq!(Moved::new(5, 7, 9, 0, 0).not_pulled, 0);
    }

    /// The words are README's: each heading is defined in its vocabulary
    /// table, so the demo, `pacer simulate` and README cannot drift apart.
    #[test]
    fn each_word_is_defined_in_readme() {
        let readme = include_str!("../../../README.md");
        let defined: Vec<&str> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| word | what it counts |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .flat_map(|l| l.split('|').nth(1).unwrap().split('/'))
            .map(str::trim)
            .collect();
        assert!(defined.len() >= 7, "README's vocabulary table: {defined:?}");
        for word in MOVED_HEADING {
            assert!(
                defined.contains(&word),
                "{word:?} is not in README's table {defined:?}"
            );
        }
    }

    #[test]
    fn each_figure_sits_under_its_word() {
        let m = Moved::new(3_184, 3_000, 2_800, 200, 1);
        let table = moved_table([("prices", &m)]);
        let mut lines = table.lines();
        let heading = lines.next().unwrap();
        let row = lines.next().unwrap();
        for (word, figure) in MOVED_HEADING
            .iter()
            .zip(["3184", "3000", "184", "2800", "200", "1", "384"])
        {
            let end = heading.find(word).unwrap() + word.len();
            assert_eq!(&row[end - figure.len()..end], figure, "{word}");
        }
    }
}
