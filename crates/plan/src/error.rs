//! Why an environment cannot be planned.

/// An environment the planner cannot plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An integration names a system the environment does not have.
    #[error(
        "integration {integration:?} names system {system:?}, which the environment does not have"
    )]
    UnknownSystem {
        /// The integration.
        integration: String,
        /// The system it names.
        system: String,
    },
    /// A rate, volume, peak factor or capacity beyond what the planner
    /// takes: planning it would take ages or mean nothing.
    #[error("{what} is {value}: expected {expected}")]
    OutOfRange {
        /// Which figure, as the file names it: `systems.erp.rate`.
        what: String,
        /// The value given.
        value: String,
        /// What the planner takes.
        expected: &'static str,
    },
}
