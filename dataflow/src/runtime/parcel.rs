//! What a task's stages hand each other: [`Parcel`]s, messages kept column-wise with the
//! [`Head`] saying where each goes and where it stands in the processing order; the pool of
//! emptied parcels ([`Spare`]); and the merge of the parcels several senders sent in one
//! epoch ([`Merged`]).
//!
//! Column-wise, a run of messages for one node is handed to the executor as the parcel's own
//! `Vec<Msg>`: the messages ingest wrote are the ones the first node reads, never copied on
//! the way.

use crate::point::Msg;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Where a message goes and where it stands in a stage's processing order (24 bytes:
/// every message ingest sends carries one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Head {
    /// Destination node id.
    pub(super) dest: u32,
    /// Parent index at the destination (multi-parent nodes).
    pub(super) input: u16,
    /// Ingest sequence number of the message that caused this one.
    pub(super) seq: u64,
    /// Position among the messages caused by the same ingest message: each stage appends
    /// the output's index (12 bits per stage, left-aligned), so sorting by `(seq, path)`
    /// restores Kapacitor's depth-first emission order whatever the worker count.
    pub(super) path: u64,
    /// Number of stage indexes in `path`.
    pub(super) depth: u8,
}

/// A message's place in a stage's processing order ([`Head::key`]).
pub(super) type OrderKey = (u64, u64, u32);

/// The message a stage's output derives from: its sequence, path and depth.
pub(super) type Origin = (u64, u64, u8);

impl Head {
    /// The head of an ingested message for node `dest` (a root, or a query node).
    pub(super) fn ingest(dest: u32, seq: u64) -> Head {
        Head {
            dest,
            input: 0,
            seq,
            path: 0,
            depth: 0,
        }
    }

    /// The order a stage processes an epoch's messages in: ingest order, then depth-first
    /// emission order, then parent index.
    pub(super) fn key(&self) -> OrderKey {
        (self.seq, self.path, u32::from(self.input))
    }

    /// The node and input the message is for.
    pub(super) fn to(&self) -> (u32, u16) {
        (self.dest, self.input)
    }

    /// The message's sequence, path and depth.
    pub(super) fn origin(&self) -> Origin {
        (self.seq, self.path, self.depth)
    }

    /// The `k`th message a stage sends on to `dest` (node and input) while handling the
    /// message at `origin`: same sequence, path extended.
    pub(super) fn exit(dest: (usize, usize), origin: Origin, k: usize) -> Head {
        let (seq, path, depth) = origin;
        let (path, depth) = extend_path(path, depth, k);
        Head {
            dest: dest.0 as u32,
            input: u16::try_from(dest.1).unwrap_or(u16::MAX),
            seq,
            path,
            depth,
        }
    }
}

/// Appends output index `k` to a message path (12 bits per stage, left-aligned; beyond five
/// stages, or 4095 outputs, later ties keep arrival order).
fn extend_path(path: u64, depth: u8, k: usize) -> (u64, u8) {
    const BITS: u32 = 12;
    let level = u32::from(depth);
    if (level + 1) * BITS > 64 {
        return (path, depth);
    }
    let idx = (k as u64 + 1).min((1 << BITS) - 1);
    (path | (idx << (64 - (level + 1) * BITS)), depth + 1)
}

/// Messages on their way through a task's stages (the container timely moves): message
/// `i` is `msgs[i]`, going where `heads[i]` says. Both columns have the same length, but
/// while a stage takes the messages out (the heads stay until the parcel is cleared).
///
/// Ingest writes only each message's sequence number (`seqs`: its head is
/// [`Head::ingest`]`(0, seq)`), a third of a head: the stage receiving the parcel makes the
/// heads ([`Parcel::materialize`]) before it reads them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Parcel {
    heads: Vec<Head>,
    /// Sequence numbers of ingested messages for node 0, whose heads are not made yet
    /// (then `heads` is empty).
    seqs: Vec<u64>,
    /// The node and input every message goes to, when they all go to one (kept as heads
    /// are added, so a stage need not read every head to know it); `None` when empty or
    /// mixed.
    to: Option<(u32, u16)>,
    pub(super) msgs: Vec<Msg>,
}

impl Parcel {
    /// An empty parcel with room for `n` messages.
    pub(super) fn with_capacity(n: usize) -> Parcel {
        Parcel {
            heads: Vec::with_capacity(n),
            seqs: Vec::new(),
            to: None,
            msgs: Vec::with_capacity(n),
        }
    }

    /// Number of messages.
    pub(super) fn len(&self) -> usize {
        self.heads.len() + self.seqs.len()
    }

    /// Whether it holds no message.
    pub(super) fn is_empty(&self) -> bool {
        self.heads.is_empty() && self.seqs.is_empty()
    }

    /// Appends a message.
    #[inline(always)]
    pub(super) fn push(&mut self, head: Head, msg: Msg) {
        debug_assert!(self.seqs.is_empty(), "heads added to an ingest parcel");
        self.note_to(head.to());
        self.heads.push(head);
        self.msgs.push(msg);
    }

    /// Appends an ingested message for node 0 with sequence number `seq` (its head is made
    /// by [`Parcel::materialize`]).
    #[inline(always)]
    pub(super) fn push_ingest(&mut self, seq: u64, msg: Msg) {
        debug_assert!(self.heads.is_empty(), "an ingest message added after heads");
        self.note_to((0, 0));
        self.seqs.push(seq);
        self.msgs.push(msg);
    }

    /// Makes the heads of ingested messages ([`Parcel::push_ingest`]), which every reader
    /// of [`Parcel::heads`] needs.
    pub(super) fn materialize(&mut self) {
        if !self.seqs.is_empty() {
            debug_assert!(self.heads.is_empty());
            self.heads
                .extend(self.seqs.drain(..).map(|seq| Head::ingest(0, seq)));
        }
    }

    /// Keeps [`Parcel::to`] true before messages for node and input `to` are appended.
    #[inline(always)]
    fn note_to(&mut self, to: (u32, u16)) {
        self.to = (self.is_empty() || self.to == Some(to)).then_some(to);
    }

    /// The messages' heads (once made: [`Parcel::materialize`]).
    pub(super) fn heads(&self) -> &[Head] {
        debug_assert!(self.seqs.is_empty(), "ingest heads not made");
        &self.heads
    }

    /// The heads, and the messages to take (once made: [`Parcel::materialize`]).
    pub(super) fn split(&mut self) -> (&[Head], &mut Vec<Msg>) {
        debug_assert!(self.seqs.is_empty(), "ingest heads not made");
        (&self.heads, &mut self.msgs)
    }

    /// The node and input every message goes to, if they all go to one.
    pub(super) fn to(&self) -> Option<(u32, u16)> {
        self.to
    }

    /// Replaces the heads (one per message, in order).
    pub(super) fn set_heads(&mut self, heads: impl Iterator<Item = Head>) {
        self.heads.clear();
        self.heads.extend(heads);
        self.to = uniform(&self.heads);
    }

    /// Moves `other`'s messages to the end of this one's.
    pub(super) fn append(&mut self, other: &mut Parcel) {
        self.heads.append(&mut other.heads);
        self.msgs.append(&mut other.msgs);
        other.to = None;
        self.to = uniform(&self.heads);
    }

    /// Room for at least `n` more messages.
    pub(super) fn reserve(&mut self, n: usize) {
        self.heads.reserve(n);
        self.msgs.reserve(n);
    }

    /// Messages it can hold without growing.
    pub(super) fn capacity(&self) -> usize {
        self.heads.capacity().min(self.msgs.capacity())
    }

    /// Empties it, keeping its room.
    pub(super) fn clear(&mut self) {
        self.heads.clear();
        self.seqs.clear();
        self.to = None;
        self.msgs.clear();
    }

    /// The order key of its first and last messages (once made: [`Parcel::materialize`]).
    pub(super) fn bounds(&self) -> Option<(OrderKey, OrderKey)> {
        let heads = self.heads();
        Some((heads.first()?.key(), heads.last()?.key()))
    }

    /// Whether its messages are in [`Head::key`] order.
    pub(super) fn is_sorted(&self) -> bool {
        self.heads.is_sorted_by_key(Head::key)
    }

    /// Sorts its messages by [`Head::key`], stably (ties keep their order).
    pub(super) fn sort(&mut self) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| self.heads[i].key());
        let mut msgs: Vec<Option<Msg>> = self.msgs.drain(..).map(Some).collect();
        let heads = std::mem::take(&mut self.heads);
        for i in order {
            self.heads.push(heads[i]);
            if let Some(m) = msgs[i].take() {
                self.msgs.push(m);
            }
        }
    }
}

/// The node and input all of `heads` go to, if they go to one.
fn uniform(heads: &[Head]) -> Option<(u32, u16)> {
    let to = heads.first()?.to();
    heads.iter().all(|h| h.to() == to).then_some(to)
}

impl timely::Accountable for Parcel {
    fn record_count(&self) -> i64 {
        i64::try_from(self.len()).unwrap_or(i64::MAX)
    }

    fn is_empty(&self) -> bool {
        Parcel::is_empty(self)
    }
}

impl timely::container::SizableContainer for Parcel {
    fn at_capacity(&self) -> bool {
        self.len() >= self.capacity()
    }

    fn ensure_capacity(&mut self, stash: &mut Option<Parcel>) {
        if self.capacity() == 0 {
            *self = stash.take().unwrap_or_default();
            self.clear();
        }
        if self.capacity() == 0 {
            self.reserve(PARCEL_ROOM);
        }
    }
}

impl timely::container::PushInto<(Head, Msg)> for Parcel {
    fn push_into(&mut self, (head, msg): (Head, Msg)) {
        self.push(head, msg);
    }
}

/// The room a parcel timely builds itself starts with.
const PARCEL_ROOM: usize = 1024;

/// Parcels cross processes as bincode, as timely sends a `Vec` of serde data.
impl timely::dataflow::channels::ContainerBytes for Parcel {
    fn from_bytes(bytes: timely::bytes::arc::Bytes) -> Parcel {
        bincode::deserialize(&bytes[..]).expect("a parcel another worker serialized")
    }

    fn length_in_bytes(&self) -> usize {
        let n = bincode::serialized_size(self).expect("a parcel serializes") as usize;
        (n + 7) & !7
    }

    fn into_bytes<W: std::io::Write>(&self, writer: &mut W) {
        let bytes = bincode::serialize(self).expect("a parcel serializes");
        let slop = ((bytes.len() + 7) & !7) - bytes.len();
        writer
            .write_all(&bytes)
            .expect("timely's buffer takes the parcel");
        writer
            .write_all(&[0u8; 8][..slop])
            .expect("timely's buffer takes the padding");
    }
}

/// The most parcels [`Spare`] keeps per worker: with [`SPARE_MAX_ROOM`], at most about
/// 5 MB per worker sit idle in it.
const SPARE_PER_WORKER: usize = 4;
/// The largest parcel [`Spare`] keeps (in messages): larger ones are rare, and freed.
pub(super) const SPARE_MAX_ROOM: usize = 1 << 13;

/// Emptied parcels, kept for reuse (a bounded few). Ingest's and each stage's outgoing
/// parcels are taken here, and the stage that drains them puts them back: a buffer
/// allocated on one thread is no longer freed on another, where the allocator cannot reuse
/// it and fresh pages, zeroed by the kernel, replace it.
#[derive(Debug)]
pub(super) struct Spare {
    kept: Mutex<Vec<Parcel>>,
    /// The most parcels kept.
    limit: usize,
}

impl Spare {
    pub(super) fn new(workers: usize) -> Spare {
        Spare {
            kept: Mutex::new(Vec::new()),
            limit: workers * SPARE_PER_WORKER,
        }
    }

    /// An empty parcel with room for at least `room` messages.
    pub(super) fn take(&self, room: usize) -> Parcel {
        let reused = self.kept.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match reused {
            Some(mut p) => {
                p.reserve(room);
                p
            }
            None => Parcel::with_capacity(room),
        }
    }

    /// Keeps these emptied parcels (up to the limit; the others are freed).
    pub(super) fn put(&self, parcels: impl IntoIterator<Item = Parcel>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        for mut p in parcels {
            if kept.len() >= self.limit {
                break;
            }
            if p.capacity() > 0 && p.capacity() <= SPARE_MAX_ROOM {
                p.clear();
                kept.push(p);
            }
        }
    }
}

/// Whether an epoch's parcels, in arrival order, are one ordered run (one sender, or
/// ingest): then they are processed as they are, parcel after parcel, and a parcel whose
/// messages all go to one node goes to it whole.
pub(super) fn one_run(parcels: &[Parcel]) -> bool {
    let mut tail: Option<OrderKey> = None;
    for p in parcels {
        let Some((first, last)) = p.bounds() else {
            continue;
        };
        if tail.is_some_and(|t| first < t) {
            return false;
        }
        tail = Some(last);
    }
    true
}

/// One parcel being read from the front: its heads, and its messages drained in step.
#[derive(Debug)]
struct Cursor<'a> {
    heads: std::slice::Iter<'a, Head>,
    msgs: std::vec::Drain<'a, Msg>,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<OrderKey> {
        self.heads.as_slice().first().map(Head::key)
    }
}

impl Iterator for Cursor<'_> {
    type Item = (Head, Msg);

    fn next(&mut self) -> Option<(Head, Msg)> {
        Some((*self.heads.next()?, self.msgs.next()?))
    }
}

/// An epoch's messages in [`Head::key`] order, taken out of the parcels they arrived in.
/// Every parcel of one sending worker is in order and they arrive in order, so the parcels
/// chain into a few ordered runs (one per sender, in practice) that are merged as they are
/// read: each message is moved once. Every parcel arrives in order (ingest numbers its
/// messages as it fills it, an outbox sorts a parcel it posted out of order), so none is
/// checked (debug builds do): checking read every message once more, through an epoch
/// that can be larger than the cache.
#[derive(Debug)]
pub(super) struct Merged<'a> {
    /// The runs: parcels back to back, each drained from the front.
    runs: Vec<VecDeque<Cursor<'a>>>,
    /// With many runs, each run's next key and index, least first.
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(OrderKey, usize)>>,
    /// With a few runs, each run's next key (`None` once it is empty): a scan finds the
    /// least faster than the heap keeps it.
    next: Vec<Option<OrderKey>>,
}

/// Up to this many runs are merged by a scan of their next keys, beyond it by a heap.
pub(super) const FEW_RUNS: usize = 8;

impl<'a> Merged<'a> {
    pub(super) fn new(parcels: &'a mut [Parcel]) -> Merged<'a> {
        // Runs of parcels: a parcel extends the first run it can follow in order.
        let mut tails: Vec<OrderKey> = Vec::new();
        let mut run_of: Vec<usize> = Vec::with_capacity(parcels.len());
        for p in parcels.iter() {
            debug_assert!(p.is_sorted());
            let Some((first, last)) = p.bounds() else {
                run_of.push(usize::MAX);
                continue;
            };
            match tails.iter().position(|t| *t <= first) {
                Some(k) => {
                    tails[k] = last;
                    run_of.push(k);
                }
                None => {
                    tails.push(last);
                    run_of.push(tails.len() - 1);
                }
            }
        }
        let mut runs: Vec<_> = (0..tails.len()).map(|_| VecDeque::new()).collect();
        for (p, k) in parcels.iter_mut().zip(run_of) {
            if k != usize::MAX {
                let Parcel { heads, msgs, .. } = p;
                runs[k].push_back(Cursor {
                    heads: heads.iter(),
                    msgs: msgs.drain(..),
                });
            }
        }
        let mut merged = Merged {
            runs,
            heads: std::collections::BinaryHeap::new(),
            next: Vec::new(),
        };
        let n = merged.runs.len();
        if n > FEW_RUNS {
            for k in 0..n {
                merged.push_head(k);
            }
        } else if n > 1 {
            merged.next = (0..n).map(|k| merged.peek(k)).collect();
        }
        merged
    }

    /// Takes the next message of run `k`.
    fn take(&mut self, k: usize) -> Option<(Head, Msg)> {
        let run = &mut self.runs[k];
        loop {
            let cursor = run.front_mut()?;
            if let Some(m) = cursor.next() {
                return Some(m);
            }
            run.pop_front();
        }
    }

    /// Run `k`'s next key, if it has messages left.
    fn peek(&mut self, k: usize) -> Option<OrderKey> {
        let run = &mut self.runs[k];
        while let Some(cursor) = run.front() {
            if let Some(key) = cursor.peek() {
                return Some(key);
            }
            run.pop_front();
        }
        None
    }

    /// Queues run `k`'s next key, if it has messages left.
    fn push_head(&mut self, k: usize) {
        if let Some(key) = self.peek(k) {
            self.heads.push(std::cmp::Reverse((key, k)));
        }
    }
}

impl Iterator for Merged<'_> {
    type Item = (Head, Msg);

    fn next(&mut self) -> Option<(Head, Msg)> {
        let n = self.runs.len();
        if n == 1 {
            return self.take(0);
        }
        // Ties go to the run that started first: arrival order.
        if n <= FEW_RUNS {
            let mut least: Option<(OrderKey, usize)> = None;
            for (k, key) in self.next.iter().enumerate() {
                if let Some(key) = *key
                    && least.is_none_or(|(l, _)| key < l)
                {
                    least = Some((key, k));
                }
            }
            let (_, k) = least?;
            let r = self.take(k);
            self.next[k] = self.peek(k);
            return r;
        }
        let std::cmp::Reverse((_, k)) = self.heads.pop()?;
        let r = self.take(k);
        self.push_head(k);
        r
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A message whose content does not matter.
    pub(in crate::runtime) fn msg() -> Msg {
        Msg::DeleteGroup(crate::point::GroupInfo::new(
            crate::point::Sym::new("m"),
            crate::point::Tags::new(),
            crate::point::Dimensions::default(),
        ))
    }

    fn head(seq: u64, path: u64, input: u16) -> Head {
        Head {
            dest: 0,
            input,
            seq,
            path,
            depth: 0,
        }
    }

    fn parcel(heads: &[Head]) -> Parcel {
        let mut p = Parcel::default();
        for h in heads {
            p.push(*h, msg());
        }
        p
    }

    fn keys(parcels: &mut [Parcel]) -> Vec<OrderKey> {
        Merged::new(parcels).map(|(h, _)| h.key()).collect()
    }

    #[test]
    fn merging_interleaved_senders_yields_the_sorted_epoch_and_empties_the_parcels() {
        // Two senders' parcels, interleaved on arrival, each sender in order.
        let mut parcels = vec![
            parcel(&[head(0, 0, 0), head(2, 0, 0), head(4, 0, 0)]),
            parcel(&[head(1, 0, 0), head(3, 0, 0)]),
            parcel(&[]),
            parcel(&[head(5, 0, 0), head(6, 1 << 52, 0)]),
            parcel(&[head(3, 1 << 52, 0), head(7, 0, 1)]),
        ];
        assert!(!one_run(&parcels));
        let mut want: Vec<_> = parcels
            .iter()
            .flat_map(|p| p.heads().iter().map(Head::key))
            .collect();
        want.sort();
        assert_eq!(keys(&mut parcels), want);
        assert!(parcels.iter().all(|p| p.msgs.is_empty()));
        // Ordered parcels are one run, merged as they are.
        let mut parcels = vec![
            parcel(&[head(1, 0, 0), head(2, 0, 0)]),
            parcel(&[]),
            parcel(&[head(9, 0, 0)]),
        ];
        assert!(one_run(&parcels));
        assert_eq!(keys(&mut parcels), vec![(1, 0, 0), (2, 0, 0), (9, 0, 0)]);
    }

    #[test]
    fn merged_ties_keep_arrival_order() {
        let tagged = |seq, dest| Head {
            dest,
            ..head(seq, 0, 0)
        };
        let mut parcels = vec![
            parcel(&[tagged(1, 10), tagged(5, 11)]),
            parcel(&[tagged(0, 20), tagged(5, 21)]),
        ];
        let dests: Vec<u32> = Merged::new(&mut parcels).map(|(h, _)| h.dest).collect();
        assert_eq!(dests, vec![20, 10, 11, 21]);
    }

    #[test]
    fn many_senders_merge_by_heap_as_a_few_do_by_scan() {
        // Run k holds the sequences congruent to k; every run has a tie at 1000 (taken in
        // arrival order). Both strategies must give the same, sorted epoch.
        for senders in [3u64, FEW_RUNS as u64, FEW_RUNS as u64 + 5] {
            let mut parcels: Vec<Parcel> = (0..senders)
                .map(|k| {
                    let mut hs: Vec<Head> = (0..20)
                        .map(|i| Head {
                            dest: k as u32,
                            ..head(i * senders + k, 0, 0)
                        })
                        .collect();
                    hs.push(Head {
                        dest: k as u32,
                        ..head(1000, 0, 0)
                    });
                    parcel(&hs)
                })
                .collect();
            let got: Vec<(u64, u32)> = Merged::new(&mut parcels)
                .map(|(h, _)| (h.seq, h.dest))
                .collect();
            let mut want: Vec<(u64, u32)> = (0..20 * senders)
                .map(|s| (s, (s % senders) as u32))
                .collect();
            want.extend((0..senders).map(|k| (1000, k as u32)));
            assert_eq!(got, want, "{senders} senders");
        }
    }

    #[test]
    fn a_parcel_sorts_its_columns_together_and_stably() {
        let tagged = |seq, dest| Head {
            dest,
            ..head(seq, 0, 0)
        };
        let mut p = Parcel::default();
        for (i, h) in [tagged(5, 0), tagged(1, 1), tagged(5, 2), tagged(0, 3)]
            .into_iter()
            .enumerate()
        {
            p.push(
                h,
                Msg::DeleteGroup(crate::point::GroupInfo::new(
                    crate::point::Sym::new(&format!("m{i}")),
                    crate::point::Tags::new(),
                    crate::point::Dimensions::default(),
                )),
            );
        }
        assert!(!p.is_sorted());
        p.sort();
        assert!(p.is_sorted());
        let dests: Vec<u32> = p.heads().iter().map(|h| h.dest).collect();
        assert_eq!(dests, vec![3, 1, 0, 2]);
        // Each message moved with its head.
        let names: Vec<String> = p
            .msgs
            .iter()
            .map(|m| match m {
                Msg::DeleteGroup(g) => g.name.as_str().to_string(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(names, vec!["m3", "m1", "m0", "m2"]);
    }

    #[test]
    fn a_parcel_knows_when_all_its_messages_go_to_one_node() {
        let to = |dest, input| Head {
            dest,
            ..head(0, 0, input)
        };
        let mut p = Parcel::default();
        assert_eq!(p.to(), None);
        p.push(to(3, 0), msg());
        p.push(to(3, 0), msg());
        assert_eq!(p.to(), Some((3, 0)));
        let mut q = parcel(&[to(3, 1)]);
        assert_eq!(q.to(), Some((3, 1)));
        p.append(&mut q);
        assert_eq!(p.to(), None);
        p.set_heads([to(4, 0), to(4, 0), to(4, 0)].into_iter());
        assert_eq!(p.to(), Some((4, 0)));
        p.push(to(5, 0), msg());
        assert_eq!(p.to(), None);
        p.clear();
        p.push(to(5, 0), msg());
        assert_eq!(p.to(), Some((5, 0)));
    }

    #[test]
    fn a_head_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Head>(), 24);
    }

    #[test]
    fn a_parcel_crosses_processes_as_bytes_and_back() {
        use crate::point::{FieldValue, Point, Sym, list};
        use timely::dataflow::channels::ContainerBytes;
        let mut p = parcel(&[head(1, 2, 3), head(4, 5, 6)]);
        // A point with a value of every type: strings cross as their text.
        let fields = list![
            (Sym::new("b"), FieldValue::Bool(true)),
            (Sym::new("f"), FieldValue::Float(1.5)),
            (Sym::new("i"), FieldValue::Int(-2)),
            (Sym::new("n"), FieldValue::Null),
            (Sym::new("s"), FieldValue::String("line \"one\"\n".into())),
        ];
        let point = Point::new("cpu", list![(Sym::new("host"), Sym::new("a"))], fields, 7);
        p.push(head(8, 0, 0), Msg::Point(point));
        let mut bytes = Vec::new();
        p.into_bytes(&mut bytes);
        assert_eq!(bytes.len(), p.length_in_bytes());
        assert_eq!(bytes.len() % 8, 0);
        let back = Parcel::from_bytes(timely::bytes::arc::BytesMut::from(bytes).freeze());
        assert_eq!(back, p);
    }
}
