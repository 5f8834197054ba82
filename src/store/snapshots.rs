//! Decoded catalogs kept in memory. Catalogs hold tens of records and
//! nearly every query reads them (a province card, the shipper and route
//! of every shipment in a page), so decoding them from sled on each read
//! cost more than the rest of answering. A snapshot of a catalog is built
//! from one scan and reused until a catalog is written.
//!
//! Writers bump a generation after their write lands in sled and before
//! they return; a snapshot is used only at the generation it was built at,
//! so no read that starts after a write returned sees the catalog before it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::catalog::Catalog;
use crate::error::Result;

/// Every record of one catalog, in code order, and where each code is.
pub(super) struct Snapshot<R: Catalog> {
    /// The records, in code order.
    pub records: Vec<R>,
    by_code: HashMap<R::Code, usize>,
}

impl<R: Catalog> Snapshot<R> {
    fn new(records: Vec<R>) -> Self {
        let by_code = records
            .iter()
            .enumerate()
            .map(|(place, record)| (record.code(), place))
            .collect();
        Self { records, by_code }
    }

    /// The record with this code, if any.
    pub fn get(&self, code: &R::Code) -> Option<&R> {
        self.by_code.get(code).map(|&place| &self.records[place])
    }
}

/// Each catalog's snapshot by its record type, with the generation it was
/// built at.
type Built = HashMap<TypeId, (u64, Arc<dyn Any + Send + Sync>)>;

/// The snapshot of each catalog read since the last catalog write.
#[derive(Default)]
pub(super) struct Snapshots {
    /// Bumped by every catalog write.
    generation: AtomicU64,
    /// A std mutex: held only to look up or insert.
    built: Mutex<Built>,
}

impl Snapshots {
    /// Forgets every snapshot: called after each catalog write.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The current snapshot of a catalog, built by `scan` when there is
    /// none at the current generation.
    pub fn get<R: Catalog>(
        &self,
        scan: impl FnOnce() -> Result<Vec<R>>,
    ) -> Result<Arc<Snapshot<R>>> {
        // Read before the scan: a write that lands during the scan bumps
        // the generation, so what the scan built is not kept.
        let generation = self.generation.load(Ordering::SeqCst);
        let cached = self
            .lock()
            .get(&TypeId::of::<R>())
            .filter(|(built_at, _)| *built_at == generation)
            .and_then(|(_, snapshot)| snapshot.clone().downcast::<Snapshot<R>>().ok());
        if let Some(snapshot) = cached {
            return Ok(snapshot);
        }
        let snapshot = Arc::new(Snapshot::new(scan()?));
        let mut built = self.lock();
        if self.generation.load(Ordering::SeqCst) == generation {
            built.insert(TypeId::of::<R>(), (generation, snapshot.clone()));
        }
        Ok(snapshot)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Built> {
        self.built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{Company, CompanyCode, Origin, RecordMeta};
    use crate::store::{Store, StoreOptions};

    fn company(code: &str, name: &str) -> Company {
        Company {
            code: CompanyCode::parse(code).unwrap(),
            name: name.into(),
            province: None,
            note: None,
            source: None,
            meta: RecordMeta::new(Origin::Api),
        }
    }

    #[test]
    fn a_read_after_a_write_sees_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20)).unwrap();
        let byd = CompanyCode::parse("BYD").unwrap();
        let envision = CompanyCode::parse("ENVISION").unwrap();
        store.insert_new(&company("BYD", "BYD")).unwrap();
        assert_eq!(store.all::<Company>().unwrap().len(), 1);

        store.insert_new(&company("ENVISION", "Envision")).unwrap();
        store.put(&company("BYD", "BYD Auto")).unwrap();

        let found = store.get_many::<Company>(&[byd.clone(), envision]).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[&byd].name, "BYD Auto");
        let names: Vec<_> = store
            .all::<Company>()
            .unwrap()
            .into_iter()
            .map(|company| company.name)
            .collect();
        assert_eq!(names, ["BYD Auto", "Envision"]);
    }
}
