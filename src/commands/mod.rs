//! The commands that are not a provider's run: `apply` (plans), `config`, `man`.

pub mod apply;
pub mod config;
pub mod man;
pub mod run;
