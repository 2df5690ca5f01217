//! `foerderradar admin passwd NAME`: sets an admin's password in `admins.toml`. The
//! password is read from the terminal without echo (twice), or as one line from
//! stdin when that is not a terminal; never from the command line, where every
//! user of the machine could read it in the process list.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use crate::web::admin::accounts;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set (or create) an admin account's password for the web UI; asks for it on the
    /// terminal, or reads one line from stdin.
    Passwd {
        /// The admin's name ([a-z0-9._-]+), used to log in.
        name: String,
    },
}

pub fn run(config_dir: &Path, command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::Passwd { name } => {
            let password = if std::io::stdin().is_terminal() {
                let first = read_hidden("Password: ")?;
                let second = read_hidden("Repeat password: ")?;
                if first != second {
                    anyhow::bail!("admin passwd: the two passwords differ; nothing changed");
                }
                first
            } else {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            };
            let path = accounts::set_password(config_dir, &name, &password)?;
            eprintln!("admin passwd: password of `{name}` set in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads a line from the terminal with echo off, restoring the terminal afterwards.
fn read_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let have_term = unsafe { libc::tcgetattr(fd, &mut term) } == 0;
    if have_term {
        let mut quiet = term;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: a termios value derived from the one the terminal gave.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if have_term {
        // SAFETY: restores the terminal's original settings.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
    }
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
