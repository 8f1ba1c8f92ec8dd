//! Integration tests of pacer-plan, one module per topic.

mod days;
mod environments;
mod golden;
mod stagger;
mod systems;
