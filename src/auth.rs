//! Write tokens. The server is configured with SHA-256 hashes of tokens,
//! never the tokens; a presented token is hashed and compared with each
//! configured hash in constant time. Tokens never appear in logs.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// The hashes of the tokens allowed to write.
#[derive(Clone, Default)]
pub struct WriteTokens(Vec<[u8; 32]>);

impl fmt::Debug for WriteTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WriteTokens({} configured)", self.0.len())
    }
}

impl WriteTokens {
    /// Reads hashes given as 64 hex digits each.
    pub fn from_hex<'a>(hashes: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        hashes
            .into_iter()
            .map(|text| {
                let mut hash = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut hash).map_err(|_| {
                    Error::bad_input(format!(
                        "a write token hash must be 64 hex digits (SHA-256), got {} characters",
                        text.trim().len()
                    ))
                })?;
                Ok(hash)
            })
            .collect::<Result<Vec<_>>>()
            .map(Self)
    }

    /// Whether any token is configured.
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `token` is one of the configured tokens.
    pub fn allows(&self, token: &str) -> bool {
        let presented = hash(token);
        // Check every hash so the time taken does not depend on which matched.
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |found, allowed| {
                found | allowed.ct_eq(&presented)
            })
            .into()
    }
}

/// The SHA-256 hash of a token.
fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token (32 bytes from the operating system, hex) and the
/// hash to configure with `--write-token-hash`.
pub fn new_token() -> Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| Error::Io {
        context: "cannot read random bytes".into(),
        source: std::io::Error::other(error.to_string()),
    })?;
    let token = format!("tg_{}", hex::encode(bytes));
    let hash = hex::encode(hash(&token));
    Ok((token, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_tokens_are_allowed() {
        let (token, hash) = new_token().unwrap();
        let (other, _) = new_token().unwrap();
        let tokens = WriteTokens::from_hex([hash.as_str()]).unwrap();
        assert!(tokens.allows(&token));
        assert!(!tokens.allows(&other));
        assert!(!tokens.allows(""));
        assert!(!WriteTokens::default().allows(&token));
        assert_eq!(
            hex::encode(super::hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(WriteTokens::from_hex(["abc"]).is_err());
        assert!(!format!("{tokens:?}").contains(&hash));
    }
}
