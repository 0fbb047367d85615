//! The evaluation harness for the shopping agent. A suite of YAML scenarios, each run `k` times in a fresh,
//! isolated embedded tokshop, graded on the final state of the shop, the tool trajectory, the replies, the
//! budgets and the approval rule; reported as pass^k with the spread across trials, tokens, latency and cost, and
//! compared with a stored baseline.

pub mod fixture;
pub mod grade;
pub mod gullible;
pub mod report;
pub mod run;
pub mod scenario;
pub mod shop_change;
pub mod shopper;
pub mod stats;
pub mod transcript;
pub mod trial;
