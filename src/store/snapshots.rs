//! Decoded catalogs kept in memory. Catalogs hold tens of records and
//! nearly every query reads them (a province card, the shipper and route
//! of every shipment in a page), so decoding them on each read cost more
//! than the rest of answering. A snapshot of a catalog is built from one
//! scan and reused while the database's change feed shows no write to it.
//!
//! A snapshot is stamped with the revision read before its scan. A read
//! takes the current revision first; at the snapshot's revision it is
//! used as it is, and past it the feed says whether any commit since wrote
//! to the catalog's space. Writes by any handle or process sharing the
//! database advance the revision and appear in the feed, so no read that
//! starts after a write was acknowledged sees the catalog before it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::catalog::Catalog;

/// Every record of one catalog, in code order, and where each code is.
pub(super) struct Snapshot<R: Catalog> {
    /// The records, in code order.
    pub records: Vec<R>,
    by_code: HashMap<R::Code, usize>,
}

impl<R: Catalog> Snapshot<R> {
    pub fn new(records: Vec<R>) -> Self {
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

/// Each catalog's snapshot by its record type, with the revision it holds.
type Built = HashMap<TypeId, (u64, Arc<dyn Any + Send + Sync>)>;

/// The latest snapshot of each catalog read.
#[derive(Default)]
pub(super) struct Snapshots {
    /// A std mutex: held only to look up or insert.
    built: Mutex<Built>,
}

impl Snapshots {
    /// The snapshot of `R` and the revision it holds, if there is one.
    pub fn latest<R: Catalog>(&self) -> Option<(u64, Arc<Snapshot<R>>)> {
        let built = self.lock();
        let (revision, snapshot) = built.get(&TypeId::of::<R>())?;
        Some((*revision, snapshot.clone().downcast::<Snapshot<R>>().ok()?))
    }

    /// Keeps `snapshot` as the one at `revision`, unless a newer one is kept.
    pub fn keep<R: Catalog>(&self, revision: u64, snapshot: Arc<Snapshot<R>>) {
        let mut built = self.lock();
        let newer = built
            .get(&TypeId::of::<R>())
            .is_some_and(|(kept, _)| *kept > revision);
        if !newer {
            built.insert(TypeId::of::<R>(), (revision, snapshot));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Built> {
        self.built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::domain::{Company, CompanyCode, Origin, RecordMeta};
    use crate::store::backend::{SledBackend, SledOptions};
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

    async fn names(store: &Store) -> Vec<String> {
        let all = store.all::<Company>().await.unwrap();
        all.into_iter().map(|company| company.name).collect()
    }

    #[tokio::test]
    async fn a_read_after_a_write_sees_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        let byd = CompanyCode::parse("BYD").unwrap();
        let envision = CompanyCode::parse("ENVISION").unwrap();
        store.insert_new(&company("BYD", "BYD")).await.unwrap();
        assert_eq!(store.all::<Company>().await.unwrap().len(), 1);

        store
            .insert_new(&company("ENVISION", "Envision"))
            .await
            .unwrap();
        store.put(&company("BYD", "BYD Auto")).await.unwrap();

        let found = store
            .get_many::<Company>(&[byd.clone(), envision])
            .await
            .unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[&byd].name, "BYD Auto");
        assert_eq!(names(&store).await, ["BYD Auto", "Envision"]);
    }

    #[tokio::test]
    async fn a_write_through_one_handle_is_seen_at_once_through_another() {
        let dir = tempfile::tempdir().unwrap();
        let options = SledOptions {
            cache_bytes: 1 << 20,
            durable: true,
        };
        let backend = Arc::new(SledBackend::open(dir.path(), options).unwrap());
        let (one, other) = (
            Store::over(backend.clone(), "shared").await.unwrap(),
            Store::over(backend, "shared").await.unwrap(),
        );
        one.insert_new(&company("BYD", "BYD")).await.unwrap();
        // Both handles now hold a snapshot of the catalog.
        assert_eq!(names(&one).await, ["BYD"]);
        assert_eq!(names(&other).await, ["BYD"]);
        let revision = other.revision().await.unwrap();

        one.put(&company("BYD", "BYD Auto")).await.unwrap();
        other
            .insert_new(&company("ENVISION", "Envision"))
            .await
            .unwrap();

        assert_eq!(names(&other).await, ["BYD Auto", "Envision"]);
        assert_eq!(names(&one).await, ["BYD Auto", "Envision"]);
        assert_eq!(one.revision().await.unwrap(), revision + 2);
        assert_eq!(one.database_id(), other.database_id());
    }
}
