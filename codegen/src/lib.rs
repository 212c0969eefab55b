//! keygate-codegen: read an OpenAPI document's security and generate its enforcement.
//!
//! The facade: [`load_file`]/[`load_str`] read a document into the IR ([`Api`]),
//! [`generate_module`] writes its Rust module, [`check`] finds likely mistakes, [`report`]
//! renders it for people and machines, and [`Builder`] does it all from `build.rs`.

mod builder;
mod check;
// The runtime's did-you-mean, the same file through a symlink (std only).
#[allow(unreachable_pub)]
mod close_names;
mod describe;
mod emit;
mod error;
pub mod ir;
mod load;
mod locate;
pub mod report;
// The runtime's path-template rules, shared so that generation and matching agree: a
// symlink to runtime/src/template.rs, so `cargo package` copies it into this crate; the
// runtime uses parts the generator does not.
#[allow(dead_code, unreachable_pub)]
mod template;
mod templates;
mod text;

pub use builder::{write_if_changed, Builder};
pub use check::{check, locate, Diagnostic, Severity};
pub use emit::{generate_module, operation_type_names};
pub use error::Error;
pub use ir::Api;
pub use load::{load_file, load_str};
pub use templates::Templates;
