#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

fn main() {
    std::process::exit(dspec::cli::main());
}
