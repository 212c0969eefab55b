//! The minijinja templates users may reshape: the Rust module wrapper and the reports.
//! The built-in ones are compiled in from the repository's `templates/` folder (through
//! the symlink `codegen/templates`, so the packaged crate carries them); a
//! directory given with `--templates` (or [`Templates::from_dir`]) overrides them by name.

use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use crate::error::Error;
use crate::text::{markdown_code, markdown_text};

/// Built-in templates: (name, text).
const BUILTIN: &[(&str, &str)] = &[
    ("module.rs.j2", include_str!("../templates/module.rs.j2")),
    ("report.md.j2", include_str!("../templates/report.md.j2")),
];

/// A set of templates: the built-in ones, each possibly overridden from a directory.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Where overrides came from, for error messages.
    dir: Option<PathBuf>,
}

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Templates {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        // Document text in markdown: plain text (`md`) or a code span (`code`), each safe
        // in a table cell; the report's only way to show it.
        env.add_filter("md", |text: &str| markdown_text(text));
        env.add_filter("code", |text: &str| markdown_code(text));
        for (name, text) in BUILTIN {
            // Built-ins are tested; a syntax error here is caught by the unit tests.
            let _ = env.add_template(name, text);
        }
        Templates { env, dir: None }
    }

    /// The built-in templates, overridden by any file of the same name in `dir`.
    pub fn from_dir(dir: &Path) -> Result<Templates, Error> {
        let shown = dir.display().to_string();
        if !dir.is_dir() {
            return Err(Error::file(&shown, "is not a directory of templates"));
        }
        let mut templates = Templates::builtin();
        for (name, _) in BUILTIN {
            let path = dir.join(name);
            if !path.exists() {
                continue;
            }
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::io(&file, "cannot read template", e))?;
            templates
                .env
                .add_template_owned(name.to_string(), text)
                .map_err(|e| template_error(&file, &e))?;
        }
        templates.dir = Some(dir.to_owned());
        Ok(templates)
    }

    /// Renders the template `name` with `context`.
    pub fn render<C: Serialize>(&self, name: &str, context: C) -> Result<String, Error> {
        let file = match &self.dir {
            Some(dir) if dir.join(name).exists() => dir.join(name).display().to_string(),
            _ => format!("templates/{name}"),
        };
        let template = self
            .env
            .get_template(name)
            .map_err(|e| template_error(&file, &e))?;
        template
            .render(context)
            .map_err(|e| template_error(&file, &e))
    }
}

fn template_error(file: &str, error: &minijinja::Error) -> Error {
    let mut e = Error::file(file, format!("template error: {}", error.kind()));
    if let Some(detail) = error.detail() {
        e.message.push_str(&format!(": {detail}"));
    }
    e.line = error.line();
    e
}
