//! Scenarios: a scenario file drives traffic through a lab, injects faults and measures what a
//! user of the cluster suffers, on one clock.

pub mod evidence;
pub mod expect;
pub mod faults;
pub mod model;
pub mod plan;
pub mod results;
pub mod runner;
pub mod traffic;
pub mod validate;
pub mod watch;

pub use plan::Scenario;
pub use validate::load;
