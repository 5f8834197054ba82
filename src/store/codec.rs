//! bincode 2 over serde for the bookkeeping values in `meta` (the markers of
//! an unfinished bulk insert or upgrade, which live only while their run
//! does). Records have an encoding of their own, with versions: `format`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// Encodes a value for storage.
pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|error| Error::Corrupt(format!("cannot encode a record: {error}")))
}

/// Decodes a stored value; `what` names the record for the error.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    let (value, read) =
        bincode::serde::decode_from_slice::<T, _>(bytes, bincode::config::standard())
            .map_err(|error| Error::Corrupt(format!("{what} does not decode: {error}")))?;
    if read != bytes.len() {
        return Err(Error::Corrupt(format!(
            "{what} has {} trailing bytes",
            bytes.len() - read
        )));
    }
    Ok(value)
}
