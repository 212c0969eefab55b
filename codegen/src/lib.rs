//! keygate-codegen: read an OpenAPI document's security and generate its enforcement.

pub mod error;
pub mod ir;
pub mod load;
#[path = "../../runtime/src/template.rs"]
pub mod template;
pub mod templates;

pub use error::Error;
pub use ir::Api;
pub mod emit;
pub use emit::generate_module;
pub use templates::Templates;
pub mod builder;
pub mod check;
mod describe;
pub mod report;
pub use builder::Builder;
