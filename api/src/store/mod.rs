//! The daemon's embedded transactional metadata store.
//!
//! One [`redb`] database file under the data dir holds tasks, templates, recording and replay
//! metadata, alert topic state, topic handlers and configuration overrides: everything a
//! restart needs to bring every enabled task back running with its alert state. Each record
//! kind has its own table, keyed by the record's id.
//!
//! Records are stored as JSON wrapped in a versioned envelope, `{"v": 1, "data": {…}}`. The
//! record types ([`TaskRecord`], [`TemplateRecord`], …) are on-disk types, separate from the
//! daemon's runtime types. Reading a record of an older version migrates it through
//! [`Record::migrate`]; reading one of a newer, unknown version is a
//! [`StoreError::FutureVersion`] rather than a guess.
//!
//! Every write commits durably ([`redb::Durability::Immediate`]): once [`Store::put`],
//! [`Store::delete`] or [`Store::transaction`] returns `Ok`, the data survives a `kill -9`.
//! Readers never block on the single writer and always see a committed snapshot.
//!
//! ```
//! # use kap_api::store::{Store, TemplateRecord, TaskRecord};
//! # let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(&dir.path().join("kapacitor.db")).unwrap();
//! let now = chrono::Utc::now();
//! let template = TemplateRecord {
//!     id: "cpu".into(),
//!     task_type: "stream".into(),
//!     script: "stream|from()".into(),
//!     created: now,
//!     modified: now,
//! };
//! store.put(&template).unwrap();
//! assert_eq!(store.get::<TemplateRecord>("cpu").unwrap(), Some(template));
//!
//! // Several writes commit together, or not at all.
//! store
//!     .transaction(|tx| {
//!         tx.delete::<TemplateRecord>("cpu")?;
//!         tx.delete::<TaskRecord>("cpu_task")?;
//!         Ok::<_, kap_api::store::StoreError>(())
//!     })
//!     .unwrap();
//! assert!(store.list::<TemplateRecord>().unwrap().is_empty());
//! ```

mod records;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError,
    WriteTransaction,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub use records::{
    ConfigOverrideRecord, DbRpRecord, EventStateRecord, HandlerRecord, RecordingRecord,
    ReplayRecord, TaskRecord, TaskSnapshotRecord, TemplateRecord, TopicStateRecord,
};

/// The redb table type every record kind uses: string keys, enveloped JSON values.
pub type RecordTable = TableDefinition<'static, &'static str, &'static [u8]>;

/// A record kind kept in the store: an on-disk type with its table, key and version.
pub trait Record: Serialize + DeserializeOwned {
    /// The table holding records of this kind.
    const TABLE: RecordTable;
    /// The version written with every record of this kind. Bump it when the serialized
    /// shape changes, and teach [`Record::migrate`] to read the previous versions.
    const VERSION: u32;

    /// The record's key in [`Record::TABLE`].
    fn key(&self) -> String;

    /// Turns the `data` of a record stored with the older version `from` into the shape of
    /// [`Record::VERSION`]. The default knows no older versions.
    ///
    /// # Errors
    /// A message saying why the data cannot be migrated.
    fn migrate(from: u32, data: serde_json::Value) -> Result<serde_json::Value, String> {
        let _ = data;
        Err(format!(
            "no migration from version {from} to version {}",
            Self::VERSION
        ))
    }
}

/// An error of the metadata store; every message names the store file, and the table and key
/// where there is one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory holding the store file could not be created.
    #[error("creating store directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The store file could not be opened or created.
    #[error("opening store {}: {source}", path.display())]
    Open {
        /// The store file.
        path: PathBuf,
        /// The underlying error.
        source: Box<redb::Error>,
    },
    /// A transaction could not be begun or committed.
    #[error("store {}: {action} transaction: {source}", path.display())]
    Transaction {
        /// The store file.
        path: PathBuf,
        /// What failed: `"beginning"` or `"committing"`.
        action: &'static str,
        /// The underlying error.
        source: Box<redb::Error>,
    },
    /// Reading or writing a table failed.
    #[error("store {}: table '{table}', key {key:?}: {source}", path.display())]
    Table {
        /// The store file.
        path: PathBuf,
        /// The table.
        table: String,
        /// The key, or the prefix listed.
        key: String,
        /// The underlying error.
        source: Box<redb::Error>,
    },
    /// A record could not be serialized.
    #[error("store {}: encoding record {key:?} for table '{table}': {source}", path.display())]
    Encode {
        /// The store file.
        path: PathBuf,
        /// The table.
        table: String,
        /// The record's key.
        key: String,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A stored record could not be deserialized.
    #[error("store {}: decoding record {key:?} in table '{table}': {source}", path.display())]
    Decode {
        /// The store file.
        path: PathBuf,
        /// The table.
        table: String,
        /// The record's key.
        key: String,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A stored record has a version newer than this build knows.
    #[error(
        "store {}: record {key:?} in table '{table}' has version {found}, but this kapacitord \
         reads versions up to {supported}; it was written by a newer kapacitord",
        path.display()
    )]
    FutureVersion {
        /// The store file.
        path: PathBuf,
        /// The table.
        table: String,
        /// The record's key.
        key: String,
        /// The version stored.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A stored record of an older version could not be migrated.
    #[error(
        "store {}: migrating record {key:?} in table '{table}' from version {from} to {to}: \
         {message}",
        path.display()
    )]
    Migrate {
        /// The store file.
        path: PathBuf,
        /// The table.
        table: String,
        /// The record's key.
        key: String,
        /// The version stored.
        from: u32,
        /// The version expected.
        to: u32,
        /// Why the migration failed.
        message: String,
    },
}

/// The daemon's metadata store: one redb database file. Cloning is cheap and shares the
/// database.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: Arc<Path>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the store file at `path`, creating it and its parent directories if missing, and
    /// creates the table of every built-in record kind.
    ///
    /// # Errors
    /// The directory cannot be created, or the file is not a redb database, cannot be read,
    /// or is already open (in this or another process).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let db = Database::create(path).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            source: Box::new(e.into()),
        })?;
        let store = Store {
            db: Arc::new(db),
            path: path.into(),
        };
        store.transaction(|tx| {
            tx.create_table::<TaskRecord>()?;
            tx.create_table::<TemplateRecord>()?;
            tx.create_table::<RecordingRecord>()?;
            tx.create_table::<ReplayRecord>()?;
            tx.create_table::<TopicStateRecord>()?;
            tx.create_table::<HandlerRecord>()?;
            Ok::<_, StoreError>(())
        })?;
        Ok(store)
    }

    /// The store file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The record of kind `R` with `key`, if any.
    ///
    /// # Errors
    /// Reading fails, or the stored record cannot be decoded or migrated.
    pub fn get<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError> {
        let ctx = Ctx::new(&self.path, R::TABLE, key);
        match self.read_table::<R>(&ctx)? {
            Some(table) => get_in(&ctx, &table),
            None => Ok(None),
        }
    }

    /// Every record of kind `R`, sorted by key.
    ///
    /// # Errors
    /// Reading fails, or a stored record cannot be decoded or migrated.
    pub fn list<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        self.list_prefix("")
    }

    /// The records of kind `R` whose key starts with `prefix`, sorted by key.
    ///
    /// # Errors
    /// Reading fails, or a stored record cannot be decoded or migrated.
    pub fn list_prefix<R: Record>(&self, prefix: &str) -> Result<Vec<R>, StoreError> {
        let ctx = Ctx::new(&self.path, R::TABLE, prefix);
        match self.read_table::<R>(&ctx)? {
            Some(table) => list_in(&ctx, &table),
            None => Ok(Vec::new()),
        }
    }

    /// The tasks a restart must bring back running: those whose status is `"enabled"`,
    /// sorted by id.
    ///
    /// # Errors
    /// As [`Store::list`].
    pub fn enabled_tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let mut tasks = self.list::<TaskRecord>()?;
        tasks.retain(TaskRecord::is_enabled);
        Ok(tasks)
    }

    /// Writes `record` under its key, replacing any record there, and commits durably.
    ///
    /// # Errors
    /// Encoding or writing fails.
    pub fn put<R: Record>(&self, record: &R) -> Result<(), StoreError> {
        self.transaction(|tx| tx.put(record))
    }

    /// Removes the record of kind `R` with `key` and commits durably; returns whether there
    /// was one.
    ///
    /// # Errors
    /// Writing fails.
    pub fn delete<R: Record>(&self, key: &str) -> Result<bool, StoreError> {
        self.transaction(|tx| tx.delete::<R>(key))
    }

    /// Runs `f` in one write transaction: if `f` returns `Ok`, every write it made commits
    /// atomically and durably; if it returns `Err` (or panics), none of them is kept.
    ///
    /// Write transactions are serialized: this waits for any other writer to finish. Readers
    /// are not blocked and do not see the writes before the commit.
    ///
    /// # Errors
    /// The error of `f`, or a [`StoreError`] beginning or committing the transaction.
    pub fn transaction<T, E>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let txn_err = |action, e: redb::Error| StoreError::Transaction {
            path: self.path.to_path_buf(),
            action,
            source: Box::new(e),
        };
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| txn_err("beginning", e.into()))?;
        // Immediate is redb's default; it is spelled out because the store's contract (data
        // survives a `kill -9` once a write returns) depends on it.
        txn.set_durability(Durability::Immediate)
            .map_err(|e| txn_err("beginning", e.into()))?;
        let mut tx = Transaction {
            txn: &txn,
            path: &self.path,
        };
        match f(&mut tx) {
            Ok(value) => {
                txn.commit().map_err(|e| txn_err("committing", e.into()))?;
                Ok(value)
            }
            Err(e) => {
                // Aborting only releases the transaction; a failure here changes nothing on
                // disk, and `f`'s error is the one to report.
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    /// Opens `R`'s table in a fresh read transaction; `None` if the table was never created.
    fn read_table<R: Record>(
        &self,
        ctx: &Ctx<'_>,
    ) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static [u8]>>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| StoreError::Transaction {
            path: self.path.to_path_buf(),
            action: "beginning",
            source: Box::new(e.into()),
        })?;
        match txn.open_table(R::TABLE) {
            Ok(table) => Ok(Some(table)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(ctx.table_err(e)),
        }
    }
}

impl Store {
    /// Writes a consistent copy of every record into a new store at `dest` (Kapacitor's
    /// `GET /storage/backup`): all tables are read in one transaction, so the copy is a
    /// single point in time. Put the file in place of the store file to restore it.
    ///
    /// # Errors
    /// Reading this store or creating or writing `dest` fails.
    pub fn backup_to(&self, dest: &Path) -> Result<(), StoreError> {
        type All = (
            Vec<TaskRecord>,
            Vec<TemplateRecord>,
            Vec<RecordingRecord>,
            Vec<ReplayRecord>,
            Vec<TopicStateRecord>,
            Vec<HandlerRecord>,
        );
        let all: All = self.transaction(|tx| -> Result<All, StoreError> {
            Ok((
                tx.list()?,
                tx.list()?,
                tx.list()?,
                tx.list()?,
                tx.list()?,
                tx.list()?,
            ))
        })?;
        let copy = Store::open(dest)?;
        copy.transaction(|tx| -> Result<(), StoreError> {
            all.0.iter().try_for_each(|r| tx.put(r))?;
            all.1.iter().try_for_each(|r| tx.put(r))?;
            all.2.iter().try_for_each(|r| tx.put(r))?;
            all.3.iter().try_for_each(|r| tx.put(r))?;
            all.4.iter().try_for_each(|r| tx.put(r))?;
            all.5.iter().try_for_each(|r| tx.put(r))
        })
    }
}

/// A write transaction in progress, handed to the closure of [`Store::transaction`]. Reads
/// through it see its own writes.
pub struct Transaction<'a> {
    txn: &'a WriteTransaction,
    path: &'a Path,
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Transaction<'_> {
    /// Writes `record` under its key, replacing any record there.
    ///
    /// # Errors
    /// Encoding or writing fails.
    pub fn put<R: Record>(&mut self, record: &R) -> Result<(), StoreError> {
        let key = record.key();
        let ctx = Ctx::new(self.path, R::TABLE, &key);
        let bytes = encode(&ctx, record)?;
        let mut table = self
            .txn
            .open_table(R::TABLE)
            .map_err(|e| ctx.table_err(e))?;
        table
            .insert(key.as_str(), bytes.as_slice())
            .map_err(|e| ctx.table_err(e))?;
        Ok(())
    }

    /// Removes the record of kind `R` with `key`; returns whether there was one.
    ///
    /// # Errors
    /// Writing fails.
    pub fn delete<R: Record>(&mut self, key: &str) -> Result<bool, StoreError> {
        let ctx = Ctx::new(self.path, R::TABLE, key);
        let mut table = self
            .txn
            .open_table(R::TABLE)
            .map_err(|e| ctx.table_err(e))?;
        let removed = table.remove(key).map_err(|e| ctx.table_err(e))?;
        Ok(removed.is_some())
    }

    /// The record of kind `R` with `key`, if any, including this transaction's writes.
    ///
    /// # Errors
    /// Reading fails, or the stored record cannot be decoded or migrated.
    pub fn get<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError> {
        let ctx = Ctx::new(self.path, R::TABLE, key);
        let table = self
            .txn
            .open_table(R::TABLE)
            .map_err(|e| ctx.table_err(e))?;
        get_in(&ctx, &table)
    }

    /// Every record of kind `R`, sorted by key, including this transaction's writes.
    ///
    /// # Errors
    /// Reading fails, or a stored record cannot be decoded or migrated.
    pub fn list<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        self.list_prefix("")
    }

    /// The records of kind `R` whose key starts with `prefix`, sorted by key, including this
    /// transaction's writes.
    ///
    /// # Errors
    /// Reading fails, or a stored record cannot be decoded or migrated.
    pub fn list_prefix<R: Record>(&self, prefix: &str) -> Result<Vec<R>, StoreError> {
        let ctx = Ctx::new(self.path, R::TABLE, prefix);
        let table = self
            .txn
            .open_table(R::TABLE)
            .map_err(|e| ctx.table_err(e))?;
        list_in(&ctx, &table)
    }

    /// Creates `R`'s table if it does not exist yet.
    fn create_table<R: Record>(&mut self) -> Result<(), StoreError> {
        let ctx = Ctx::new(self.path, R::TABLE, "");
        self.txn
            .open_table(R::TABLE)
            .map_err(|e| ctx.table_err(e))?;
        Ok(())
    }
}

/// Where an operation happens, for error messages.
struct Ctx<'a> {
    path: &'a Path,
    table: RecordTable,
    key: &'a str,
}

impl<'a> Ctx<'a> {
    fn new(path: &'a Path, table: RecordTable, key: &'a str) -> Ctx<'a> {
        Ctx { path, table, key }
    }

    fn table_name(&self) -> String {
        redb::TableHandle::name(&self.table).to_owned()
    }

    fn table_err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::Table {
            path: self.path.to_path_buf(),
            table: self.table_name(),
            key: self.key.to_owned(),
            source: Box::new(e.into()),
        }
    }
}

/// The envelope written around every record.
#[derive(Serialize)]
struct EnvelopeOut<'r, R> {
    v: u32,
    data: &'r R,
}

/// The envelope as read, before the version is checked.
#[derive(Deserialize)]
struct EnvelopeIn {
    v: u32,
    data: serde_json::Value,
}

fn encode<R: Record>(ctx: &Ctx<'_>, record: &R) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&EnvelopeOut {
        v: R::VERSION,
        data: record,
    })
    .map_err(|source| StoreError::Encode {
        path: ctx.path.to_path_buf(),
        table: ctx.table_name(),
        key: ctx.key.to_owned(),
        source,
    })
}

fn decode<R: Record>(ctx: &Ctx<'_>, key: &str, bytes: &[u8]) -> Result<R, StoreError> {
    let decode_err = |source| StoreError::Decode {
        path: ctx.path.to_path_buf(),
        table: ctx.table_name(),
        key: key.to_owned(),
        source,
    };
    let EnvelopeIn { v, mut data } = serde_json::from_slice(bytes).map_err(decode_err)?;
    if v > R::VERSION {
        return Err(StoreError::FutureVersion {
            path: ctx.path.to_path_buf(),
            table: ctx.table_name(),
            key: key.to_owned(),
            found: v,
            supported: R::VERSION,
        });
    }
    if v < R::VERSION {
        data = R::migrate(v, data).map_err(|message| StoreError::Migrate {
            path: ctx.path.to_path_buf(),
            table: ctx.table_name(),
            key: key.to_owned(),
            from: v,
            to: R::VERSION,
            message,
        })?;
    }
    serde_json::from_value(data).map_err(decode_err)
}

fn get_in<R, T>(ctx: &Ctx<'_>, table: &T) -> Result<Option<R>, StoreError>
where
    R: Record,
    T: ReadableTable<&'static str, &'static [u8]>,
{
    let Some(value) = table.get(ctx.key).map_err(|e| ctx.table_err(e))? else {
        return Ok(None);
    };
    decode(ctx, ctx.key, value.value()).map(Some)
}

fn list_in<R, T>(ctx: &Ctx<'_>, table: &T) -> Result<Vec<R>, StoreError>
where
    R: Record,
    T: ReadableTable<&'static str, &'static [u8]>,
{
    let prefix = ctx.key;
    let mut records = Vec::new();
    for entry in table.range(prefix..).map_err(|e| ctx.table_err(e))? {
        let (key, value) = entry.map_err(|e| ctx.table_err(e))?;
        let key = key.value();
        if !key.starts_with(prefix) {
            break;
        }
        records.push(decode(ctx, key, value.value())?);
    }
    Ok(records)
}
