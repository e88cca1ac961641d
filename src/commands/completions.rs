//! `kubeseed completions SHELL`: the completion script, generated from the clap types, so it
//! never lags behind the commands.

use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::error::Error;

pub fn run(shell: clap_complete::Shell) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubeseed", &mut script);
    super::print(&script)
}
