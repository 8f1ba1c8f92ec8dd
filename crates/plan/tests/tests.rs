//! Integration tests of pacer-plan, one module per topic.

mod environments;
mod golden;
mod stagger;
