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
}
