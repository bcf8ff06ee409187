//! `revoke apply PLAN.toml`.

use crate::cli::{ApplyArgs, GlobalArgs};
use crate::exit::Ended;
use crate::settings::Given;
use crate::settings::config_file::ConfigFile;

pub async fn apply(
    _args: &ApplyArgs,
    _g: &GlobalArgs,
    _given: &Given,
    _file: Option<&ConfigFile>,
) -> Ended {
    crate::logging::error("revoke apply: not built yet");
    Ended::NothingSent
}
