//! The data model the engine moves: interned names, points, batches and the control
//! messages of Kapacitor's edges (barrier, delete-group).
//!
//! Names (measurements, tag keys and values, field keys, databases) are interned once at
//! ingest into [`Sym`]s: a `Sym` is a pointer to a leaked, deduplicated string, so copying,
//! comparing and hashing one costs no allocation. Interned strings live for the life of the
//! process (their number is bounded by the number of distinct names seen).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{OnceLock, RwLock};

/// An interned string: one pointer (to the leaked, deduplicated string and its content
/// hash), so a `Sym` is as small as a `u64` and compares and hashes by address.
#[derive(Clone, Copy)]
pub struct Sym(&'static Interned);

/// What a [`Sym`] points to: the string and a hash of its bytes, computed once.
struct Interned {
    s: &'static str,
    hash: u64,
}

/// A hash of a string's bytes that is the same in every process and on every platform
/// (wyhash's multiply-fold over little-endian 8-byte words, then a finalizer; 0 for the
/// empty string): [`GroupId`]s are built from these, and workers of different processes
/// must agree on them. Every input bit reaches every output bit: strings differing in any
/// byte get unrelated hashes.
pub fn content_hash(s: &str) -> u64 {
    if s.is_empty() {
        return 0;
    }
    let mut h: u64 = WY0 ^ s.len() as u64;
    let mut chunks = s.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mum(h ^ u64::from_le_bytes(w), WY1);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mum(h ^ u64::from_le_bytes(w), WY1);
    }
    fmix(h)
}

/// wyhash's constants.
const WY0: u64 = 0xa076_1d64_78bd_642f;
const WY1: u64 = 0xe703_7ed1_a0b4_28db;

/// wyhash's mixing step: the full 128-bit product of `a` and `b`, its halves xored, so high
/// input bits reach low output bits (a plain multiply only carries bits upward).
#[inline]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// MurmurHash3's 64-bit finalizer: every input bit reaches the low bits.
#[inline]
pub(crate) fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

fn interner() -> &'static RwLock<HashMap<&'static str, Sym>> {
    static INTERNER: OnceLock<RwLock<HashMap<&'static str, Sym>>> = OnceLock::new();
    INTERNER.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Slots of each thread's cache in front of the interner (a power of two).
const SYM_CACHE: usize = 1 << 14;

thread_local! {
    /// A direct-mapped cache of recently interned strings: a hit costs a cheap hash and a
    /// string compare instead of the shared lock and SipHash. Being fixed-size, colliding
    /// strings only evict each other (no hash-flooding concern).
    static RECENT: std::cell::RefCell<Vec<Option<Sym>>> =
        std::cell::RefCell::new(vec![None; SYM_CACHE]);
}

impl Sym {
    /// Interns `s`.
    pub fn new(s: &str) -> Sym {
        let hash = content_hash(s);
        let slot = hash as usize & (SYM_CACHE - 1);
        let cached =
            RECENT.with(|c| c.borrow()[slot].filter(|sym| sym.0.hash == hash && sym.as_str() == s));
        if let Some(sym) = cached {
            return sym;
        }
        let sym = Sym::intern(s, hash);
        RECENT.with(|c| c.borrow_mut()[slot] = Some(sym));
        sym
    }

    fn intern(s: &str, hash: u64) -> Sym {
        if let Some(found) = interner().read().unwrap_or_else(|e| e.into_inner()).get(s) {
            return *found;
        }
        let mut map = interner().write().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = map.get(s) {
            return *found;
        }
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        let sym = Sym(Box::leak(Box::new(Interned { s: leaked, hash })));
        map.insert(leaked, sym);
        sym
    }

    /// The empty string.
    pub fn empty() -> Sym {
        static EMPTY: OnceLock<Sym> = OnceLock::new();
        *EMPTY.get_or_init(|| Sym::new(""))
    }

    /// The string.
    pub fn as_str(self) -> &'static str {
        self.0.s
    }

    /// The hash of the string's bytes ([`content_hash`]), the same in every process.
    #[inline]
    pub fn content_hash(self) -> u64 {
        self.0.hash
    }
}

impl PartialEq for Sym {
    fn eq(&self, other: &Sym) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for Sym {}

impl Hash for Sym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (std::ptr::from_ref(self.0) as usize).hash(state);
    }
}

impl PartialOrd for Sym {
    fn partial_cmp(&self, other: &Sym) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sym {
    /// Orders by string content (so sorted tags print like Go's sorted maps).
    fn cmp(&self, other: &Sym) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Sym {
        Sym::new(s)
    }
}

impl Serialize for Sym {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Sym, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Sym::new(&s))
    }
}

/// A shared, immutable string: one thin pointer to its length, reference count and bytes
/// (8 bytes where `Arc<str>` takes 16), so a [`FieldValue`] takes 16 bytes and a point's
/// fields take a quarter less room. Cloning only counts a reference.
pub type Str = arcstr::ArcStr;

/// A field value (16 bytes). Ints and floats are different types everywhere, as in
/// Kapacitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FieldValue {
    /// 64-bit float.
    Float(f64),
    /// 64-bit integer.
    Int(i64),
    /// String.
    String(Str),
    /// Boolean.
    Bool(bool),
    /// No value (a join's `.fill('null')`); rendered as JSON `null`.
    Null,
}

// A field value stays two words: points keep one inline and buffered points a list of them.
const _: () = assert!(std::mem::size_of::<FieldValue>() == 16);

impl FieldValue {
    /// The value as a float, for numeric fields.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            FieldValue::Float(f) => Some(*f),
            FieldValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// Kapacitor's type name (`float`, `int`, `string`, `boolean`, `nil`).
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldValue::Float(_) => "float",
            FieldValue::Int(_) => "int",
            FieldValue::String(_) => "string",
            FieldValue::Bool(_) => "boolean",
            FieldValue::Null => "nil",
        }
    }
}

/// A sorted key/value list whose first pair is stored inline: a point with one tag or one
/// field keeps it without an allocation, so the ingest thread allocates nothing that a
/// worker must free for it (freeing memory on another thread than the one that allocated
/// it is among the costliest steps of a point through a short task). Longer lists live on
/// the heap, as in a `Vec`.
pub type List<V> = smallvec::SmallVec<[(Sym, V); 1]>;
/// Builds a [`List`] (tags or fields) like `vec!` builds a `Vec`.
pub use smallvec::smallvec as list;
/// Tags, sorted by key, keys unique.
pub type Tags = List<Sym>;
/// Fields, sorted by key, keys unique.
pub type Fields = List<FieldValue>;

/// Looks up a key in a sorted key/value list: a short list (most points' tags and fields)
/// is scanned comparing interned pointers, without reading a name; a long one is searched.
#[inline]
pub fn get<V>(list: &[(Sym, V)], key: Sym) -> Option<&V> {
    if list.len() <= SCAN_MAX {
        return list.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
    }
    list.binary_search_by(|(k, _)| k.cmp(&key))
        .ok()
        .map(|i| &list[i].1)
}

/// Up to this many keys, [`get`] scans instead of searching (a binary search compares the
/// strings of the keys it passes).
const SCAN_MAX: usize = 8;

/// Looks up a key given as a string, without interning it.
pub fn get_str<'a, V>(list: &'a [(Sym, V)], key: &str) -> Option<&'a V> {
    list.binary_search_by(|(k, _)| k.as_str().cmp(key))
        .ok()
        .map(|i| &list[i].1)
}

/// Sets a key in a sorted key/value list (insert or replace).
pub fn set<V>(list: &mut List<V>, key: Sym, value: V) {
    match list.binary_search_by(|(k, _)| k.cmp(&key)) {
        Ok(i) => list[i].1 = value,
        Err(i) => list.insert(i, (key, value)),
    }
}

/// Removes a key from a sorted key/value list, returning its value.
pub fn remove<V>(list: &mut List<V>, key: Sym) -> Option<V> {
    match list.binary_search_by(|(k, _)| k.cmp(&key)) {
        Ok(i) => Some(list.remove(i).1),
        Err(_) => None,
    }
}

/// Sorts a key/value list by key; for duplicate keys the last one wins.
pub fn normalize<V>(list: &mut List<V>) {
    // Usually already sorted and unique (parsed lines, query rows): no work, no allocation.
    if list.windows(2).all(|w| w[0].0 < w[1].0) {
        return;
    }
    // Stable sort keeps insertion order among equal keys; keep the last of each run.
    list.sort_by_key(|a| a.0);
    let mut out: List<V> = List::with_capacity(list.len());
    for (k, v) in list.drain(..) {
        match out.last_mut() {
            Some(last) if last.0 == k => last.1 = v,
            _ => out.push((k, v)),
        }
    }
    *list = out;
}

/// How data is grouped: Kapacitor's `Dimensions`, interned like [`Sym`] (a pointer to a
/// leaked, deduplicated [`DimSet`]), so a point carries its grouping without an allocation
/// and copying, comparing and hashing one is free. The number of distinct sets is bounded
/// by the scripts' `groupBy`s (and, for `groupBy(*)`, by the tag key sets seen).
#[derive(Clone, Copy)]
pub struct Dimensions(&'static DimSet);

/// The content of [`Dimensions`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct DimSet {
    /// The measurement is part of the group.
    pub by_name: bool,
    /// Group tag keys, sorted (when produced by `from`/`groupBy`).
    pub tag_names: Vec<Sym>,
}

fn dim_interner() -> &'static RwLock<HashMap<&'static DimSet, Dimensions>> {
    static INTERNER: OnceLock<RwLock<HashMap<&'static DimSet, Dimensions>>> = OnceLock::new();
    INTERNER.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Slots of each thread's cache in front of the dimensions interner (a power of two).
const DIM_CACHE: usize = 64;

thread_local! {
    /// Recently interned dimensions, direct-mapped by a hash of their content.
    static RECENT_DIMS: std::cell::RefCell<[Option<Dimensions>; DIM_CACHE]> =
        const { std::cell::RefCell::new([None; DIM_CACHE]) };
}

impl Dimensions {
    /// Interns `by_name` and `tag_names`.
    pub fn new(by_name: bool, tag_names: Vec<Sym>) -> Dimensions {
        Dimensions::cached(by_name, tag_names.iter().copied(), || tag_names.clone())
    }

    /// Interns `by_name` and a slice of tag names (copied only the first time).
    pub fn of(by_name: bool, tag_names: &[Sym]) -> Dimensions {
        Dimensions::cached(by_name, tag_names.iter().copied(), || tag_names.to_vec())
    }

    /// Interns `by_name` and the tag names `keys` yields, sorted (collected only the
    /// first time a thread sees them): no allocation per call.
    pub fn of_keys<I>(by_name: bool, keys: I) -> Dimensions
    where
        I: Iterator<Item = Sym> + Clone,
    {
        Dimensions::cached(by_name, keys.clone(), || keys.collect())
    }

    /// Grouping by every one of these (sorted) tags, not by measurement: a series.
    pub fn of_series(tags: &[(Sym, Sym)]) -> Dimensions {
        Dimensions::of_keys(false, tags.iter().map(|(k, _)| *k))
    }

    /// Whether these are [`Dimensions::of_series`] of `tags` (compared key by key, by
    /// pointer: no lookup).
    #[inline]
    pub fn is_series_of(&self, tags: &[(Sym, Sym)]) -> bool {
        !self.by_name
            && self.tag_names.len() == tags.len()
            && self.tag_names.iter().zip(tags).all(|(a, (b, _))| a == b)
    }

    /// The thread cache in front of [`Dimensions::intern`]: `keys` are the tag names,
    /// `owned` collects them for the interner on a miss.
    fn cached<I>(by_name: bool, keys: I, owned: impl FnOnce() -> Vec<Sym>) -> Dimensions
    where
        I: Iterator<Item = Sym> + Clone,
    {
        let mut h = IdHasher::default();
        h.write_u8(u8::from(by_name));
        for k in keys.clone() {
            k.hash(&mut h);
        }
        let slot = (h.finish() >> 40) as usize & (DIM_CACHE - 1);
        let same = |d: &Dimensions| d.by_name == by_name && d.tag_names.iter().copied().eq(keys);
        if let Some(d) = RECENT_DIMS.with(|c| c.borrow()[slot].filter(same)) {
            return d;
        }
        let d = Dimensions::intern(DimSet {
            by_name,
            tag_names: owned(),
        });
        RECENT_DIMS.with(|c| c.borrow_mut()[slot] = Some(d));
        d
    }

    /// The interned copy of `set`, leaked the first time it is seen.
    fn intern(set: DimSet) -> Dimensions {
        if let Some(found) = dim_interner()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&set)
        {
            return *found;
        }
        let mut map = dim_interner().write().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = map.get(&set) {
            return *found;
        }
        let leaked: &'static DimSet = Box::leak(Box::new(set));
        let d = Dimensions(leaked);
        map.insert(leaked, d);
        d
    }

    /// The same grouping with other tag names.
    pub fn with_tag_names(self, tag_names: Vec<Sym>) -> Dimensions {
        Dimensions::new(self.by_name, tag_names)
    }

    /// The interned content.
    pub fn set(self) -> &'static DimSet {
        self.0
    }
}

impl std::ops::Deref for Dimensions {
    type Target = DimSet;

    fn deref(&self) -> &DimSet {
        self.0
    }
}

impl Default for Dimensions {
    /// No grouping (the nil group).
    fn default() -> Dimensions {
        static NONE: OnceLock<Dimensions> = OnceLock::new();
        *NONE.get_or_init(|| Dimensions::new(false, Vec::new()))
    }
}

impl PartialEq for Dimensions {
    fn eq(&self, other: &Dimensions) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for Dimensions {}

impl Hash for Dimensions {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (std::ptr::from_ref(self.0) as usize).hash(state);
    }
}

impl fmt::Debug for Dimensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dimensions")
            .field("by_name", &self.by_name)
            .field("tag_names", &self.tag_names)
            .finish()
    }
}

impl Serialize for Dimensions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Dimensions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dimensions, D::Error> {
        let set = DimSet::deserialize(d)?;
        Ok(Dimensions::new(set.by_name, set.tag_names))
    }
}

/// A stable 64-bit hash of a group ([`group_of`]); used for per-group state maps and for
/// exchanging data between workers. Equal group id strings hash equal everywhere.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct GroupId(pub u64);

/// Kapacitor's group id string: `""` for the nil group; otherwise `name\n` when grouped by
/// measurement, then `k=v` for each dimension (in dimension order) joined by `,`; a missing
/// tag gives `k=`.
pub fn group_id_string(name: Sym, tags: &[(Sym, Sym)], dims: &Dimensions) -> String {
    // Measured first: the string is allocated once, at its size.
    let mut len = 0;
    write_group_id(name, tags, dims, &mut |part| len += part.len());
    let mut s = String::with_capacity(len);
    write_group_id(name, tags, dims, &mut |part| s.push_str(part));
    s
}

/// Feeds the parts of the group id string to `out`, in order (no allocation).
fn write_group_id(name: Sym, tags: &[(Sym, Sym)], dims: &Dimensions, out: &mut impl FnMut(&str)) {
    if dims.tag_names.is_empty() {
        if dims.by_name {
            out(name.as_str());
        }
        return;
    }
    if dims.by_name {
        out(name.as_str());
        out("\n");
    }
    for (i, k) in dims.tag_names.iter().enumerate() {
        if i > 0 {
            out(",");
        }
        out(k.as_str());
        out("=");
        if let Some(v) = get(tags, *k) {
            out(v.as_str());
        }
    }
}

/// The [`GroupId`] of a group, without building its id string: a hash of what the string
/// holds (the measurement when grouped by it, then each dimension's name and value, a
/// missing tag counting as empty), combined from the names' [`content_hash`]es. Groups
/// with equal id strings get equal ids, in every process.
pub fn group_of(name: Sym, tags: &[(Sym, Sym)], dims: &Dimensions) -> GroupId {
    let mut h: u64 = if dims.by_name {
        group_mix(0x243f_6a88_85a3_08d3, name.content_hash())
    } else {
        UNNAMED_GROUP_SEED
    };
    for &k in &dims.tag_names {
        // `content_hash("")` is 0: a missing tag hashes as an empty value, as in the string.
        let v = get(tags, k).map_or(0, |v| v.content_hash());
        h = group_mix(group_mix(h, k.content_hash()), v);
    }
    GroupId(fmix(h))
}

/// The [`GroupId`] of grouping by every one of these (sorted) tags, not by measurement:
/// [`group_of`] with those dimensions, without interning them.
#[inline]
pub fn group_of_all(tags: &[(Sym, Sym)]) -> GroupId {
    let h = tags.iter().fold(UNNAMED_GROUP_SEED, |h, (k, v)| {
        group_mix(group_mix(h, k.content_hash()), v.content_hash())
    });
    GroupId(fmix(h))
}

/// Where [`group_of`] starts when the measurement is not part of the group.
const UNNAMED_GROUP_SEED: u64 = 0x1319_8a2e_0370_7344;

/// One step of [`group_of`].
fn group_mix(h: u64, x: u64) -> u64 {
    mum(h ^ x, WY1)
}

/// The [`GroupId`] of a group restricted to the tags `on` (with the measurement when
/// grouped by it): what `join(...).on(...)` matches, and exchanges, on.
pub fn group_on(name: Sym, tags: &[(Sym, Sym)], by_name: bool, on: &[Sym]) -> GroupId {
    group_of(name, tags, &Dimensions::of(by_name, on))
}

/// A fast hasher for keys that are small integers or already hashes ([`GroupId`], [`Sym`]):
/// FxHash's multiply-rotate step, without SipHash's per-lookup cost. Not for keys an
/// outsider controls byte by byte (strings go through [`Hasher::write`], mixed per byte).
#[derive(Debug, Clone, Copy, Default)]
pub struct IdHasher(u64);

impl IdHasher {
    #[inline]
    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(u64::from(*b));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// Builds [`IdHasher`]s.
pub type BuildIdHasher = std::hash::BuildHasherDefault<IdHasher>;

/// Looks up every message's group in `map` in one tight pass, for
/// [`Processor::warm`](crate::node::Processor::warm), reading each entry found with `touch`
/// (which should read the value's fields its node reads first, so the entry's cache lines
/// are all loaded): the lookups are independent, so their cache misses overlap, and the
/// entries are in cache when the messages are processed one by one.
///
/// A table that fits well within the core's second-level cache is not warmed: its entries
/// are found there anyway, and the pass would only look every group up twice. `held` is
/// what each entry owns elsewhere (a boxed value's size), counted in the table's footprint.
pub fn warm_groups<V>(map: &GroupMap<V>, msgs: &[Msg], held: usize, touch: impl Fn(&V) -> u64) {
    if map.len() < WARM_MIN {
        return;
    }
    let footprint = map.capacity() * (std::mem::size_of::<(GroupId, V)>() + held);
    if footprint <= l2_bytes() / 2 {
        return;
    }
    let mut sum = 0u64;
    for m in msgs {
        if let Some(v) = map.get(&m.group()) {
            sum = sum.wrapping_add(touch(v));
        }
    }
    std::hint::black_box(sum);
}

/// Below this many groups a table stays in cache and warming it is pure cost.
const WARM_MIN: usize = 512;

/// The size of a core's second-level cache, read once (Linux's sysfs); 512 KiB where it
/// cannot be read.
fn l2_bytes() -> usize {
    static L2: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *L2.get_or_init(|| read_l2_bytes().unwrap_or(512 << 10))
}

fn read_l2_bytes() -> Option<usize> {
    (0..8).find_map(|i| {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
        let level = std::fs::read_to_string(format!("{dir}/level")).ok()?;
        if level.trim() != "2" {
            return None;
        }
        cache_size(&std::fs::read_to_string(format!("{dir}/size")).ok()?)
    })
}

/// A sysfs cache size (`2048K`, `2M`, or bytes) in bytes.
fn cache_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: usize = digits.parse().ok()?;
    let scale = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// Per-group state: a map keyed by [`GroupId`] with the fast [`IdHasher`], its entries
/// kept in insertion order. Writes repeat their series in the same order, so a node reads
/// its groups' entries in sequence (the hardware prefetches them) and only the small index
/// table is read at random: the per-point lookup of a node with many groups costs about a
/// second-level cache hit instead of a miss.
pub type GroupMap<V> = indexmap::IndexMap<GroupId, V, BuildIdHasher>;

/// Group information carried by batches, barriers and delete-group messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// Measurement (used in the id when grouped by measurement).
    pub name: Sym,
    /// Only the group's dimension tags.
    pub tags: Tags,
    /// The dimensions.
    pub dims: Dimensions,
    /// Hash of the id string.
    pub id: GroupId,
}

impl GroupInfo {
    /// Builds group info, computing the id.
    pub fn new(name: Sym, tags: Tags, dims: Dimensions) -> GroupInfo {
        let id = group_of(name, &tags, &dims);
        GroupInfo {
            name,
            tags,
            dims,
            id,
        }
    }

    /// Kapacitor's group id string (see [`group_id_string`]).
    pub fn id_string(&self) -> String {
        group_id_string(self.name, &self.tags, &self.dims)
    }
}

/// A point of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Measurement.
    pub name: Sym,
    /// Database.
    pub db: Sym,
    /// Retention policy.
    pub rp: Sym,
    /// All tags, sorted.
    pub tags: Tags,
    /// Fields, sorted.
    pub fields: Fields,
    /// Time, ns since the Unix epoch (UTC).
    pub time: i64,
    /// How the point is grouped.
    pub dims: Dimensions,
    /// Hash of the group id; recompute with [`Point::regroup`] after changing the name,
    /// tags or dimensions.
    pub group: GroupId,
}

impl Point {
    /// A point of measurement `name` with these tags and fields (sorted here; for a
    /// duplicate key the last wins), in the nil group, with no database or retention policy.
    pub fn new(name: &str, tags: impl Into<Tags>, fields: impl Into<Fields>, time: i64) -> Point {
        let (mut tags, mut fields) = (tags.into(), fields.into());
        normalize(&mut tags);
        normalize(&mut fields);
        let mut p = Point {
            name: Sym::new(name),
            db: Sym::empty(),
            rp: Sym::empty(),
            tags,
            fields,
            time,
            dims: Dimensions::default(),
            group: GroupId::default(),
        };
        p.regroup();
        p
    }

    /// Sets the database and retention policy.
    pub fn in_db(mut self, db: &str, rp: &str) -> Point {
        self.db = Sym::new(db);
        self.rp = Sym::new(rp);
        self
    }

    /// Recomputes [`Point::group`] from name, tags and dimensions.
    pub fn regroup(&mut self) {
        self.group = group_of(self.name, &self.tags, &self.dims);
    }

    /// Kapacitor's group id string.
    pub fn group_string(&self) -> String {
        group_id_string(self.name, &self.tags, &self.dims)
    }

    /// The group tags only (dimension tags present on the point; missing ones are empty).
    pub fn group_tags(&self) -> Tags {
        let names = &self.dims.tag_names;
        let mut tags = Tags::with_capacity(names.len());
        for k in names {
            tags.push((*k, get(&self.tags, *k).copied().unwrap_or_else(Sym::empty)));
        }
        tags
    }

    /// Group info of this point.
    pub fn group_info(&self) -> GroupInfo {
        GroupInfo {
            name: self.name,
            tags: self.group_tags(),
            dims: self.dims,
            id: self.group,
        }
    }

    /// A field by name.
    pub fn field(&self, key: &str) -> Option<&FieldValue> {
        get(&self.fields, Sym::new(key))
    }

    /// A tag by name.
    pub fn tag(&self, key: &str) -> Option<Sym> {
        get(&self.tags, Sym::new(key)).copied()
    }
}

/// A point inside a batch: no name or group of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchPoint {
    /// Time, ns.
    pub time: i64,
    /// Fields, sorted.
    pub fields: Fields,
    /// Tags, sorted (may hold more than the group tags).
    pub tags: Tags,
}

/// A batch: Kapacitor's BufferedBatch (begin, points, end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Measurement / batch name.
    pub name: Sym,
    /// Batch time (`tmax`), ns.
    pub tmax: i64,
    /// Group tags only.
    pub tags: Tags,
    /// Dimensions.
    pub dims: Dimensions,
    /// Hash of the group id.
    pub group: GroupId,
    /// Points in order.
    pub points: Vec<BatchPoint>,
}

impl Batch {
    /// Recomputes [`Batch::group`].
    pub fn regroup(&mut self) {
        self.group = group_of(self.name, &self.tags, &self.dims);
    }

    /// Kapacitor's group id string.
    pub fn group_string(&self) -> String {
        group_id_string(self.name, &self.tags, &self.dims)
    }

    /// Group info of this batch.
    pub fn group_info(&self) -> GroupInfo {
        GroupInfo {
            name: self.name,
            tags: self.tags.clone(),
            dims: self.dims,
            id: self.group,
        }
    }

    /// Setting a batch's tags also sets its dimensions to the sorted tag keys (Kapacitor's
    /// `BeginBatch.SetTags`), and regroups.
    pub fn set_tags(&mut self, tags: Tags) {
        self.dims = self
            .dims
            .with_tag_names(tags.iter().map(|(k, _)| *k).collect());
        self.tags = tags;
        self.regroup();
    }
}

/// A barrier: "time has reached `time` for this group" (emitted by `barrier()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Barrier {
    /// The group.
    pub group: GroupInfo,
    /// Barrier time, ns.
    pub time: i64,
}

/// A message on an edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// One point (stream edges).
    Point(Point),
    /// One batch (batch edges).
    Batch(Batch),
    /// Barrier for a group.
    Barrier(Barrier),
    /// Forget a group's state (emitted by `barrier().delete(TRUE)`).
    DeleteGroup(GroupInfo),
}

impl Msg {
    /// The group the message belongs to.
    pub fn group(&self) -> GroupId {
        match self {
            Msg::Point(p) => p.group,
            Msg::Batch(b) => b.group,
            Msg::Barrier(b) => b.group.id,
            Msg::DeleteGroup(g) => g.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_read_as_sysfs_writes_them() {
        assert_eq!(cache_size("2048K\n"), Some(2 << 20));
        assert_eq!(cache_size("2M"), Some(2 << 20));
        assert_eq!(cache_size("49152"), Some(49152));
        assert_eq!(cache_size("lots"), None);
        assert_eq!(cache_size("12X"), None);
        assert!(l2_bytes() > 0);
    }

    #[test]
    fn interning_dedups_and_orders_by_content() {
        let a = Sym::new("host");
        let b = Sym::new(&String::from("host"));
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert!(Sym::new("a") < Sym::new("b"));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"host\"");
        let back: Sym = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn dimensions_intern_alike_from_a_vec_a_slice_keys_or_a_series() {
        let (dc, host) = (Sym::new("dc"), Sym::new("host"));
        let tags: Tags = list![(dc, Sym::new("east")), (host, Sym::new("h1"))];
        let by_vec = Dimensions::new(false, vec![dc, host]);
        assert_eq!(Dimensions::of(false, &[dc, host]), by_vec);
        assert_eq!(Dimensions::of_keys(false, [dc, host].into_iter()), by_vec);
        assert_eq!(Dimensions::of_series(&tags), by_vec);
        assert_ne!(Dimensions::of_keys(true, [dc, host].into_iter()), by_vec);
        assert_ne!(Dimensions::of_keys(false, [host].into_iter()), by_vec);
        assert_eq!(Dimensions::of_series(&[]), Dimensions::default());
    }

    #[test]
    fn group_ids_match_kapacitor() {
        let tags: Tags = list![
            (Sym::new("cpu"), Sym::new("cpu0")),
            (Sym::new("host"), Sym::new("serverA")),
        ];
        let dims = Dimensions::new(false, vec![Sym::new("cpu"), Sym::new("host")]);
        assert_eq!(
            group_id_string(Sym::new("m"), &tags, &dims),
            "cpu=cpu0,host=serverA"
        );
        let dims = Dimensions::new(true, vec![Sym::new("dc")]);
        assert_eq!(group_id_string(Sym::new("m"), &tags, &dims), "m\ndc=");
        assert_eq!(
            group_id_string(Sym::new("m"), &tags, &Dimensions::default()),
            ""
        );
        let dims = Dimensions::new(true, vec![]);
        assert_eq!(group_id_string(Sym::new("m"), &tags, &dims), "m");
    }

    #[test]
    fn group_of_agrees_with_the_id_string() {
        let tags: Tags = list![
            (Sym::new("cpu"), Sym::new("cpu0")),
            (Sym::new("dc"), Sym::new("")),
            (Sym::new("host"), Sym::new("a")),
        ];
        let name = Sym::new("m");
        let dims = [
            Dimensions::default(),
            Dimensions::new(true, vec![]),
            Dimensions::new(true, vec![Sym::new("cpu"), Sym::new("dc")]),
            Dimensions::new(false, vec![Sym::new("cpu"), Sym::new("dc")]),
            Dimensions::new(false, vec![Sym::new("host")]),
            Dimensions::new(false, vec![Sym::new("dc"), Sym::new("cpu")]),
            Dimensions::new(false, vec![Sym::new("cpu"), Sym::new("zone")]),
        ];
        // Equal id strings, equal ids: a missing tag counts as an empty value.
        let no_dc: Tags = list![tags[0], tags[2]];
        for d in &dims {
            assert_eq!(group_of(name, &tags, d), group_of(name, &no_dc, d));
        }
        // Different id strings, different ids.
        let mut seen = std::collections::HashMap::new();
        for d in &dims {
            for n in [name, Sym::new("n")] {
                let id = group_of(n, &tags, d);
                let s = group_id_string(n, &tags, d);
                assert_eq!(*seen.entry(id).or_insert_with(|| s.clone()), s, "{d:?}");
            }
        }
        // The ids depend on content only (what processes of a cluster agree on).
        assert_eq!(content_hash(""), 0);
        assert_eq!(Sym::new("host").content_hash(), content_hash("host"));
        assert_ne!(content_hash("host-00001"), content_hash("host-00002"));
    }

    #[test]
    fn group_ids_of_similar_names_never_collide() {
        // Names that differ in a few bytes anywhere (a plain multiplicative hash carries
        // differences in high bytes upward only, and merged groups of such names).
        let dims = Dimensions::new(false, vec![Sym::new("host")]);
        let by_name = Dimensions::new(true, vec![Sym::new("host"), Sym::new("cpu")]);
        let mut ids = std::collections::HashSet::new();
        let mut hashes = std::collections::HashSet::new();
        let m = Sym::new("m");
        for i in 0..100_000 {
            for name in [format!("host-{i:05}"), format!("{i:09}x"), format!("h{i}")] {
                let host = Sym::new(&name);
                assert!(hashes.insert(host.content_hash()), "{name}");
                let tags = vec![(Sym::new("host"), host)];
                assert!(ids.insert(group_of(m, &tags, &dims)), "{name}");
            }
            let tags = vec![
                (Sym::new("cpu"), Sym::new(&format!("cpu{}", i % 64))),
                (Sym::new("host"), Sym::new(&format!("h{}", i / 64))),
            ];
            assert!(ids.insert(group_of(m, &tags, &by_name)), "{i}");
        }
    }

    #[test]
    fn sorted_list_helpers() {
        let mut f: Fields = list![];
        set(&mut f, Sym::new("b"), FieldValue::Int(1));
        set(&mut f, Sym::new("a"), FieldValue::Int(2));
        set(&mut f, Sym::new("b"), FieldValue::Int(3));
        assert_eq!(
            f[..],
            [
                (Sym::new("a"), FieldValue::Int(2)),
                (Sym::new("b"), FieldValue::Int(3))
            ]
        );
        assert_eq!(get(&f, Sym::new("b")), Some(&FieldValue::Int(3)));
        assert_eq!(remove(&mut f, Sym::new("a")), Some(FieldValue::Int(2)));
        let mut g: Fields = list![
            (Sym::new("z"), FieldValue::Int(1)),
            (Sym::new("a"), FieldValue::Int(1)),
            (Sym::new("z"), FieldValue::Int(2)),
        ];
        normalize(&mut g);
        assert_eq!(
            g[..],
            [
                (Sym::new("a"), FieldValue::Int(1)),
                (Sym::new("z"), FieldValue::Int(2))
            ]
        );
    }
}
