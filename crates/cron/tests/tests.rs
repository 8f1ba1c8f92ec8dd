//! Integration tests of pacer-cron, one module per topic.

mod differential;
mod dst;
mod generate;
mod properties;
mod reference;
mod syntax;
