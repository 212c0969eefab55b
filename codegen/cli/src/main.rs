//! The `keygate` command line: argument parsing over `keygate_codegen`, nothing more.
//!
//! Exit codes: 0 ok, 1 a document (or template, or output file) failed, warnings
//! under `--deny-warnings`, or a `keys` command failed; 2 usage errors.

mod keys_cmd;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use keygate_codegen::{
    check, generate_module, load_file, locate, report, write_if_changed, Diagnostic, Error,
    Severity, Templates,
};

/// Generate API-key enforcement for axum apps from OpenAPI documents.
#[derive(Debug, Parser)]
#[command(name = "keygate", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the Rust module that enforces a document's security.
    Generate {
        /// The OpenAPI 3.0/3.1 or Swagger 2.0 document (YAML or JSON).
        spec: PathBuf,
        /// Write the module here (parent folders are created; an unchanged file is not
        /// touched) instead of to stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Override the built-in templates with the files of this folder.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
    /// Show each operation's requirement and warn about likely mistakes.
    Check {
        /// The documents to check.
        #[arg(required = true, value_name = "SPEC")]
        specs: Vec<PathBuf>,
        /// Same as `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// What to print on stdout.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Override the built-in templates with the files of this folder.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// Exit with 1 when there is any warning.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Manage the runtime's API keys, their owners and the audit log, in SQLite or PostgreSQL.
    Keys(Box<keys_cmd::KeysArgs>),
    /// Serve the admin API and its web console over a key database on 127.0.0.1, and
    /// print a link that logs the browser in once (as the OS user running this).
    Console(Box<keys_cmd::console::ConsoleArgs>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The base path, one aligned row per operation, and notes.
    Table,
    /// A JSON array with one report per document.
    Json,
    /// The markdown security report (`report.md.j2`).
    Markdown,
}

fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help/--version.
    let cli = Cli::parse();
    match cli.command {
        Command::Generate {
            spec,
            output,
            templates,
        } => generate(&spec, output.as_deref(), templates.as_deref()),
        Command::Check {
            specs,
            json,
            format,
            templates,
            deny_warnings,
        } => {
            let format = if json { Format::Json } else { format };
            check_all(&specs, format, templates.as_deref(), deny_warnings)
        }
        Command::Keys(args) => keys_cmd::run(*args),
        Command::Console(args) => keys_cmd::console::run(*args),
    }
}

fn templates(dir: Option<&Path>) -> Result<Templates, Error> {
    dir.map_or_else(|| Ok(Templates::builtin()), Templates::from_dir)
}

fn generate(spec: &Path, output: Option<&Path>, dir: Option<&Path>) -> ExitCode {
    let result = templates(dir).and_then(|templates| {
        let api = load_file(spec)?;
        generate_module(&api, &templates)
    });
    let module = match result {
        Ok(module) => module,
        Err(error) => return fail(&error),
    };
    match output {
        None => stdout(&module),
        Some(path) => {
            if let Err(error) = write_if_changed(path, &module) {
                return fail(&error);
            }
        }
    }
    ExitCode::SUCCESS
}

fn check_all(specs: &[PathBuf], format: Format, dir: Option<&Path>, deny: bool) -> ExitCode {
    let templates = match templates(dir) {
        Ok(templates) => templates,
        Err(error) => return fail(&error),
    };
    let (mut ok, mut failed, mut warnings) = (0usize, 0usize, 0usize);
    let mut reports = Vec::new();
    let mut printed = 0usize;
    for spec in specs {
        let api = match load_file(spec) {
            Ok(api) => api,
            Err(error) => {
                eprintln!("error: {error}");
                failed += 1;
                continue;
            }
        };
        let mut diagnostics = check(&api);
        // Lines and columns come from the text; without it the pointers still place them.
        if !diagnostics.is_empty() {
            if let Ok(text) = std::fs::read_to_string(spec) {
                locate(&mut diagnostics, &text);
            }
        }
        let rendered = match format {
            Format::Table if specs.len() > 1 => {
                Ok(format!("{}:\n{}", api.source, report::render_text(&api)))
            }
            Format::Table => Ok(report::render_text(&api)),
            Format::Markdown => report::render_markdown(&api, &diagnostics, &templates),
            Format::Json => {
                reports.push(report::report_json(&api, &diagnostics));
                Ok(String::new())
            }
        };
        match rendered {
            Ok(text) if text.is_empty() => {}
            Ok(text) => {
                // A blank line between documents.
                if printed > 0 {
                    stdout("\n");
                }
                stdout(&text);
                if !text.ends_with('\n') {
                    stdout("\n");
                }
                printed += 1;
            }
            Err(error) => {
                eprintln!("error: {error}");
                failed += 1;
                continue;
            }
        }
        print_diagnostics(&api.source, &diagnostics);
        warnings += diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count();
        ok += 1;
    }
    if format == Format::Json {
        let array = serde_json::Value::Array(reports);
        match serde_json::to_string_pretty(&array) {
            Ok(text) => stdout(&format!("{text}\n")),
            Err(error) => eprintln!("error: cannot print the JSON report: {error}"),
        }
    }
    eprintln!(
        "checked {}: {ok} ok, {failed} failed, {}",
        counted(specs.len(), "document", "documents"),
        counted(warnings, "warning", "warnings")
    );
    if failed > 0 || (deny && warnings > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `1 document`, `2 documents`.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `warning[code]: at /pointer: message`, then the file and, where found, the line and
/// column it is at (`--> spec.yaml:12:5`).
fn print_diagnostics(source: &str, diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        let place = match (diagnostic.line, diagnostic.column) {
            (Some(line), Some(column)) => format!(":{line}:{column}"),
            (Some(line), None) => format!(":{line}"),
            _ => String::new(),
        };
        eprintln!("{diagnostic}\n  --> {source}{place}");
    }
}

fn fail(error: &Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

/// Prints to stdout; a closed pipe (`keygate check x | head`) is not an error worth a
/// panic, so write errors are dropped.
fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn json_flag_and_format_flag_conflict() {
        let both = Cli::try_parse_from(["keygate", "check", "--json", "--format", "table", "a"]);
        assert!(both.is_err());
        assert!(Cli::try_parse_from(["keygate", "check"]).is_err());
    }
}
