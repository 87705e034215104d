//! halab: lab provisioner for Linux high-availability clusters.

pub mod agent_test;
pub mod bench;
pub mod cli;
pub mod cmd;
pub mod diag;
pub mod fence;
pub mod image;
pub mod inputs;
pub mod interrupt;
pub mod lab;
pub mod labstate;
pub mod ledger;
pub mod lifecycle;
pub mod measure;
pub mod node;
pub mod parallel;
pub mod progress;
pub mod provider;
pub mod report;
pub mod scenario;
pub mod stack;
pub mod status;
pub mod topology;
pub mod transport;
pub mod xml;
pub mod yaml;
