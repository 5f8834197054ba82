//! The key-space census of the storage benchmark (`benches/storage.py`):
//! `keyspace DATA_DIR` prints one JSON object saying, for every sled tree
//! of the database in `DATA_DIR` (the default tree included), how many keys
//! it holds and how many bytes its keys and its values take, and how many
//! bytes the whole database takes on disk:
//!
//! ```text
//! {"size_on_disk": N, "trees": {"NAME": {"keys": N, "key_bytes": N, "value_bytes": N}, ...}}
//! ```
//!
//! It opens the directory with plain `sled::open`, not through tradegraph's
//! `Store`, because opening a `Store` upgrades a database of an older format
//! to the current layout: the census would then count the new layout's keys
//! on both sides of a before/after comparison, and leave the "before"
//! database unfit for the old binaries. Plain sled knows nothing of either
//! layout, so it reads a database of any format as it is. sled has no
//! read-only mode; this program writes nothing, but opening may still make
//! sled recover and rewrite its own log, as any open does. Like every sled
//! handle it needs the directory to itself: stop the server first.
//!
//! It is an example target, not part of the server: it shares the crate's
//! locked sled (the version that wrote the database) and lives beside the
//! script that runs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

/// What one tree holds.
#[derive(Debug, Default)]
struct TreeCensus {
    keys: u64,
    key_bytes: u64,
    value_bytes: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args_os().skip(1);
    let (Some(data_dir), None) = (arguments.next(), arguments.next()) else {
        return Err("usage: keyspace DATA_DIR".into());
    };
    let data_dir = PathBuf::from(data_dir);
    let census = count_keys(&data_dir)?;
    println!("{census}");
    Ok(())
}

/// Counts the keys and bytes of every tree of the database in `data_dir`.
fn count_keys(data_dir: &Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    // sled::open creates a database where there is none; a mistyped path
    // must be an error, not an empty census.
    if !data_dir.join("conf").is_file() {
        return Err(format!("{}: not a sled database (no conf file)", data_dir.display()).into());
    }
    let db = sled::open(data_dir)?;
    let mut trees = BTreeMap::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name)?;
        let mut census = TreeCensus::default();
        for entry in tree.iter() {
            let (key, value) = entry?;
            census.keys += 1;
            census.key_bytes += key.len() as u64;
            census.value_bytes += value.len() as u64;
        }
        trees.insert(
            String::from_utf8_lossy(&name).into_owned(),
            json!({
                "keys": census.keys,
                "key_bytes": census.key_bytes,
                "value_bytes": census.value_bytes,
            }),
        );
    }
    Ok(json!({
        "size_on_disk": db.size_on_disk()?,
        "trees": trees,
    }))
}
