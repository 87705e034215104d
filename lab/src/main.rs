//! The `halab` command line: parse, call the library, map errors to exit codes (0 ok, 1 an
//! expectation failed, 2 bad input, 3 infrastructure error, 130 interrupted).

use std::process::ExitCode;

use clap::Parser;

use halab::cli::args::Cli;
use halab::diag::InputError;

fn main() -> ExitCode {
    match halab::cli::commands::run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            if let Some(input) = e.downcast_ref::<InputError>() {
                eprint!("halab: {input}");
                return ExitCode::from(2);
            }
            if e.downcast_ref::<halab::interrupt::Interrupted>().is_some() {
                eprintln!("halab: interrupted; nothing was left behind");
                return ExitCode::from(130);
            }
            eprintln!("halab: error: {e:#}");
            ExitCode::from(3)
        }
    }
}
