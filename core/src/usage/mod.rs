//! Usage accounting beyond writing rows: per-key budgets (an in-memory tracker of spend per
//! period), token estimates when an upstream sends no usage, and the upkeep runtimes call off
//! the request path (seeding the tracker and last-use times from the store, pruning).

pub mod budget;
pub mod estimate;
pub mod period;

pub use budget::{BudgetStatus, BudgetTracker};

#[cfg(test)]
mod enforce_tests;
