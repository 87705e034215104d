//! The command line: `args` is what clap parses, `commands` calls the library for each command
//! and prints its answer. main.rs only maps the outcome to an exit code.

pub mod args;
pub mod commands;
pub mod image;
pub mod shell;
