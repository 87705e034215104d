//! `halab-node`: the in-node half of halab (services, the gap probe), mounted into netns nodes
//! as /usr/local/bin/halab. It must not link libvirt: node images do not carry it.

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(name = "halab", version, about = "halab inside a node: services and the gap probe")]
struct Cli {
    #[command(subcommand)]
    cmd: halab::node::cli::NodeCmd,
}

fn main() -> ExitCode {
    match halab::node::cli::run(Cli::parse().cmd) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("halab: error: {e:#}");
            ExitCode::from(3)
        }
    }
}
