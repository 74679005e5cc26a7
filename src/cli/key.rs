//! `trtctl key generate | public`.

use super::args::KeyCommand;
use crate::trust::SecretKey;

pub(super) fn run(command: KeyCommand) -> anyhow::Result<u8> {
    match command {
        KeyCommand::Generate { name, out } => {
            let key = SecretKey::generate(&name)?;
            key.write_new(&out)?;
            println!("{}", key.public());
        }
        KeyCommand::Public { file } => println!("{}", SecretKey::load(&file)?.public()),
    }
    Ok(0)
}
