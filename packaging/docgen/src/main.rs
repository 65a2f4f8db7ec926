//! `sandbox-docgen OUTDIR DATE`: writes the man pages sandboxify.1 and
//! patchelf-helper.1 and their bash, zsh and fish completions, generated from
//! the clap definitions so that they never drift from `--help`, and
//! libsandbox.7 (the hand-written `packaging/libsandbox.7.in` with its title
//! line), into OUTDIR. DATE (YYYY-MM-DD) goes into each page's title line.
//! `packaging/build-deb` runs it and puts the files where Debian wants them.

#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use clap_complete::{Generator, Shell};
use clap_mangen::Man;
use roff::{Roff, bold, roman};

/// The body of libsandbox(7), everything after the `.TH` line.
const LIBSANDBOX_PAGE: &str = include_str!("../../libsandbox.7.in");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, date] = args.as_slice() else {
        eprintln!("usage: sandbox-docgen OUTDIR DATE");
        return ExitCode::from(2);
    };
    match generate(Path::new(out), date) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sandbox-docgen: {out}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn generate(out: &Path, date: &str) -> io::Result<()> {
    fs::create_dir_all(out)?;
    let tools = [
        (sandboxify::cli::command(), [("libsandbox", "7"), ("patchelf-helper", "1"), ("seccomp", "2")]),
        (patchelf_helper::cli::command(), [("libsandbox", "7"), ("sandboxify", "1"), ("ld.so", "8")]),
    ];
    for (command, see_also) in tools {
        let name = command.get_name().to_string();
        man_page(command.clone(), &see_also, date, &mut File::create(out.join(format!("{name}.1")))?)?;
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut file = File::create(out.join(shell.file_name(&name)))?;
            clap_complete::generate(shell, &mut command.clone(), &name, &mut file);
        }
    }
    let title = format!(
        ".TH libsandbox 7 {date} \"libsandbox {}\" \"Miscellaneous Information Manual\"\n",
        env!("CARGO_PKG_VERSION")
    );
    fs::write(out.join("libsandbox.7"), title + LIBSANDBOX_PAGE)
}

/// Renders `command`'s page: clap_mangen's title, name, synopsis, description
/// and options, then one section per heading of the after-help text
/// ("Exit status:" becomes EXIT STATUS, its lines kept as laid out), then
/// SEE ALSO.
fn man_page(command: clap::Command, see_also: &[(&str, &str)], date: &str, out: &mut dyn Write) -> io::Result<()> {
    let after_help = command.get_after_help().map(ToString::to_string).unwrap_or_default();
    let man = Man::new(command).date(date).manual("User Commands");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;

    let mut roff = Roff::new();
    for (heading, lines) in sections(&after_help) {
        roff.control("SH", [heading.as_str()]).control("nf", []);
        for line in lines {
            roff.text([roman(line.strip_prefix("  ").unwrap_or(line))]);
        }
        roff.control("fi", []);
    }
    roff.control("SH", ["SEE ALSO"]);
    let last = see_also.len() - 1;
    for (index, (page, section)) in see_also.iter().enumerate() {
        let separator = if index == last { "" } else { "," };
        roff.text([bold(*page), roman(format!("({section}){separator}"))]);
    }
    roff.to_writer(out)
}

/// Splits an after-help text into sections: a paragraph whose first line is
/// "Heading:" starts one; a paragraph without a heading continues the last.
fn sections(text: &str) -> Vec<(String, Vec<&str>)> {
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut lines = paragraph.lines();
        let first = lines.next().unwrap_or_default();
        match first.strip_suffix(':').filter(|heading| !heading.starts_with(' ')) {
            Some(heading) => sections.push((heading.to_uppercase(), lines.collect())),
            None => {
                let (_, body) = sections.last_mut().expect("the after-help text starts with a heading");
                body.push("");
                body.extend(paragraph.lines());
            }
        }
    }
    sections
}
