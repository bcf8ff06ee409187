//! The commands that are not a provider's run: `apply` (plans), `config`, `man` (with the
//! file formats its pages tell), `report`.

pub mod apply;
pub mod config;
pub mod formats;
pub mod man;
pub mod report;
pub mod run;
pub mod token;
