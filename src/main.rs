#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = dspec::cli::Cli::parse();
    std::process::exit(dspec::cli::run(cli));
}
