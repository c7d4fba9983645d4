//! Kapacitor's UDF protocol (`udf/agent/udf.proto`): the messages a task exchanges with a
//! user-defined function's agent over its stdin/stdout or a unix socket, each a protobuf
//! message after its length as a protobuf varint.
//!
//! Kapacitor sends [`Request`]s (info, init, keepalive, snapshot, restore, and the data:
//! begin batch, point, end batch); the agent answers with [`Response`]s (the same, and
//! error). Both directions are encoded and decoded here, so an agent written with this
//! module works too. Encoding skips proto3 defaults (zero numbers, empty strings, false);
//! decoding accepts every field in any order, packed or unpacked repeated numbers, and
//! skips unknown fields, as protobuf decoders do.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

/// What a UDF wants and provides: points or batches (`EdgeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EdgeKind {
    /// Points (`STREAM`).
    #[default]
    Stream,
    /// Batches (`BATCH`).
    Batch,
}

/// The type of an option value (`ValueType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ValueType {
    /// `BOOL`.
    Bool,
    /// `INT`.
    Int,
    /// `DOUBLE`.
    Double,
    /// `STRING`.
    String,
    /// `DURATION` (nanoseconds).
    Duration,
}

impl ValueType {
    fn from_wire(n: u64) -> Result<ValueType, String> {
        Ok(match n {
            0 => ValueType::Bool,
            1 => ValueType::Int,
            2 => ValueType::Double,
            3 => ValueType::String,
            4 => ValueType::Duration,
            other => return Err(format!("unknown option value type {other}")),
        })
    }

    fn wire(self) -> u64 {
        match self {
            ValueType::Bool => 0,
            ValueType::Int => 1,
            ValueType::Double => 2,
            ValueType::String => 3,
            ValueType::Duration => 4,
        }
    }
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValueType::Bool => "BOOL",
            ValueType::Int => "INT",
            ValueType::Double => "DOUBLE",
            ValueType::String => "STRING",
            ValueType::Duration => "DURATION",
        })
    }
}

/// An option value (`OptionValue`).
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A string.
    String(String),
    /// A duration, in nanoseconds.
    Duration(i64),
}

impl OptionValue {
    /// Its type.
    pub fn value_type(&self) -> ValueType {
        match self {
            OptionValue::Bool(_) => ValueType::Bool,
            OptionValue::Int(_) => ValueType::Int,
            OptionValue::Double(_) => ValueType::Double,
            OptionValue::String(_) => ValueType::String,
            OptionValue::Duration(_) => ValueType::Duration,
        }
    }
}

/// What a UDF answers to an info request (`InfoResponse`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Info {
    /// What it reads.
    pub wants: EdgeKind,
    /// What it sends.
    pub provides: EdgeKind,
    /// Its options, with the types of their values in order.
    pub options: BTreeMap<String, Vec<ValueType>>,
}

/// An init request: the task's option calls, and the task and node (`InitRequest`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Init {
    /// Option calls in script order.
    pub options: Vec<(String, Vec<OptionValue>)>,
    /// Task id.
    pub task_id: String,
    /// Node id (its name in the task, e.g. `movingAverage2`).
    pub node_id: String,
}

/// The start of a batch (`BeginBatch`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BeginBatch {
    /// Measurement.
    pub name: String,
    /// Group id.
    pub group: String,
    /// The group's tags.
    pub tags: BTreeMap<String, String>,
    /// Number of points, `0` when unknown.
    pub size: i64,
    /// Whether the group includes the measurement.
    pub by_name: bool,
}

/// A point, alone or in a batch (`Point`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Point {
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
    /// Measurement.
    pub name: String,
    /// Database.
    pub database: String,
    /// Retention policy.
    pub retention_policy: String,
    /// Group id.
    pub group: String,
    /// Group-by tag names.
    pub dimensions: Vec<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Float fields.
    pub fields_double: BTreeMap<String, f64>,
    /// Integer fields.
    pub fields_int: BTreeMap<String, i64>,
    /// String fields.
    pub fields_string: BTreeMap<String, String>,
    /// Boolean fields.
    pub fields_bool: BTreeMap<String, bool>,
    /// Whether the group includes the measurement.
    pub by_name: bool,
}

/// The end of a batch (`EndBatch`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndBatch {
    /// Measurement.
    pub name: String,
    /// Group id.
    pub group: String,
    /// The batch's time (its latest).
    pub tmax: i64,
    /// The group's tags.
    pub tags: BTreeMap<String, String>,
    /// Whether the group includes the measurement.
    pub by_name: bool,
}

/// What Kapacitor sends an agent (`Request`).
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Asks for the UDF's [`Info`].
    Info,
    /// Starts the UDF for a task's node.
    Init(Init),
    /// Asks for a keepalive answer; the time is in nanoseconds.
    Keepalive(i64),
    /// Asks for a snapshot of the UDF's state.
    Snapshot,
    /// Restores a snapshot.
    Restore(Vec<u8>),
    /// A batch starts.
    Begin(BeginBatch),
    /// A point.
    Point(Point),
    /// A batch ends.
    End(EndBatch),
}

/// What an agent sends Kapacitor (`Response`).
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// The UDF's [`Info`].
    Info(Info),
    /// Whether init succeeded, and why not.
    Init {
        /// Success.
        success: bool,
        /// The error otherwise.
        error: String,
    },
    /// A keepalive answer.
    Keepalive(i64),
    /// A snapshot of the UDF's state.
    Snapshot(Vec<u8>),
    /// Whether a restore succeeded, and why not.
    Restore {
        /// Success.
        success: bool,
        /// The error otherwise.
        error: String,
    },
    /// The UDF failed: Kapacitor stops it.
    Error(String),
    /// A batch starts.
    Begin(BeginBatch),
    /// A point.
    Point(Point),
    /// A batch ends.
    End(EndBatch),
}

// ---------------------------------------------------------------------------------------
// Framing

/// Writes `message` after its length (a varint), as the agents read them.
pub fn write_frame(w: &mut impl Write, message: &[u8]) -> io::Result<()> {
    let mut head = Vec::with_capacity(10);
    varint(&mut head, message.len() as u64);
    w.write_all(&head)?;
    w.write_all(message)
}

/// The largest message read (Kapacitor's agents have no limit; a length beyond this is a
/// broken stream).
const MAX_FRAME: u64 = 256 << 20;

/// Reads one length-prefixed message; `None` at the end of the stream between messages.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len: u64 = 0;
    for i in 0..10 {
        let mut b = [0u8; 1];
        if r.read(&mut b)? == 0 {
            if i == 0 {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream ended inside a message length",
            ));
        }
        len |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            if len > MAX_FRAME {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a message of {len} bytes"),
                ));
            }
            let mut buf = vec![0u8; len as usize];
            r.read_exact(&mut buf)?;
            return Ok(Some(buf));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "a message length longer than 10 bytes",
    ))
}

// ---------------------------------------------------------------------------------------
// Wire encoding

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn put_u64(out: &mut Vec<u8>, field: u32, n: u64) {
    if n != 0 {
        key(out, field, 0);
        varint(out, n);
    }
}

fn put_i64(out: &mut Vec<u8>, field: u32, n: i64) {
    put_u64(out, field, n as u64);
}

fn put_bool(out: &mut Vec<u8>, field: u32, b: bool) {
    put_u64(out, field, u64::from(b));
}

fn put_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    if !b.is_empty() {
        put_bytes_always(out, field, b);
    }
}

fn put_bytes_always(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, field: u32, s: &str) {
    put_bytes(out, field, s.as_bytes());
}

/// A nested message (written even when empty: a oneof member must be present).
fn put_msg(out: &mut Vec<u8>, field: u32, f: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    f(&mut inner);
    put_bytes_always(out, field, &inner);
}

/// A map's entries, as messages of key 1 and value 2.
fn put_map<V>(
    out: &mut Vec<u8>,
    field: u32,
    map: &BTreeMap<String, V>,
    value: impl Fn(&mut Vec<u8>, &V),
) {
    for (k, v) in map {
        put_msg(out, field, |e| {
            put_str(e, 1, k);
            value(e, v);
        });
    }
}

fn put_double(out: &mut Vec<u8>, field: u32, x: f64) {
    if x.to_bits() != 0 {
        key(out, field, 1);
        out.extend_from_slice(&x.to_le_bytes());
    }
}

// ---------------------------------------------------------------------------------------
// Wire decoding

/// A field's value as read.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32,
}

struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, what }
    }

    fn err(&self, why: &str) -> String {
        format!("{}: {why}", self.what)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut n: u64 = 0;
        for i in 0..10 {
            let Some((&b, rest)) = self.buf.split_first() else {
                return Err(self.err("a varint runs past the end"));
            };
            self.buf = rest;
            n |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.err("a varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.buf.len() {
            return Err(self.err("a field runs past the end"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    /// The next field: its number and value; `None` at the end.
    fn next(&mut self) -> Result<Option<(u32, Wire<'a>)>, String> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let k = self.varint()?;
        let field = u32::try_from(k >> 3).map_err(|_| self.err("a field number too large"))?;
        let wire = match k & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            2 => {
                let n = self.varint()?;
                let n = usize::try_from(n).map_err(|_| self.err("a length too large"))?;
                Wire::Bytes(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                Wire::Fixed32
            }
            w => return Err(self.err(&format!("unknown wire type {w}"))),
        };
        Ok(Some((field, wire)))
    }
}

fn as_u64(w: &Wire<'_>, what: &str) -> Result<u64, String> {
    match w {
        Wire::Varint(n) => Ok(*n),
        _ => Err(format!("{what}: want a varint")),
    }
}

fn as_f64(w: &Wire<'_>, what: &str) -> Result<f64, String> {
    match w {
        Wire::Fixed64(n) => Ok(f64::from_bits(*n)),
        _ => Err(format!("{what}: want a 64-bit float")),
    }
}

fn as_bytes<'a>(w: &Wire<'a>, what: &str) -> Result<&'a [u8], String> {
    match w {
        Wire::Bytes(b) => Ok(b),
        _ => Err(format!("{what}: want bytes")),
    }
}

fn as_string(w: &Wire<'_>, what: &str) -> Result<String, String> {
    String::from_utf8(as_bytes(w, what)?.to_vec()).map_err(|_| format!("{what}: not UTF-8"))
}

/// A map entry: its key and the value field's wire value (`None` for a default value).
fn map_entry<'a>(b: &'a [u8], what: &'static str) -> Result<(String, Option<Wire<'a>>), String> {
    let mut r = Reader::new(b, what);
    let (mut k, mut v) = (String::new(), None);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => k = as_string(&w, what)?,
            2 => v = Some(w),
            _ => {}
        }
    }
    Ok((k, v))
}

fn string_map_entry(b: &[u8], what: &'static str) -> Result<(String, String), String> {
    let (k, v) = map_entry(b, what)?;
    let v = match v {
        Some(w) => as_string(&w, what)?,
        None => String::new(),
    };
    Ok((k, v))
}

// ---------------------------------------------------------------------------------------
// Messages

fn encode_begin(out: &mut Vec<u8>, b: &BeginBatch) {
    put_str(out, 1, &b.name);
    put_str(out, 2, &b.group);
    put_map(out, 3, &b.tags, |e, v| put_str(e, 2, v));
    put_i64(out, 4, b.size);
    put_bool(out, 5, b.by_name);
}

fn decode_begin(buf: &[u8]) -> Result<BeginBatch, String> {
    const W: &str = "BeginBatch";
    let mut b = BeginBatch::default();
    let mut r = Reader::new(buf, W);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => b.name = as_string(&w, W)?,
            2 => b.group = as_string(&w, W)?,
            3 => {
                let (k, v) = string_map_entry(as_bytes(&w, W)?, W)?;
                b.tags.insert(k, v);
            }
            4 => b.size = as_u64(&w, W)? as i64,
            5 => b.by_name = as_u64(&w, W)? != 0,
            _ => {}
        }
    }
    Ok(b)
}

fn encode_point(out: &mut Vec<u8>, p: &Point) {
    put_i64(out, 1, p.time);
    put_str(out, 2, &p.name);
    put_str(out, 3, &p.database);
    put_str(out, 4, &p.retention_policy);
    put_str(out, 5, &p.group);
    for d in &p.dimensions {
        put_bytes_always(out, 6, d.as_bytes());
    }
    put_map(out, 7, &p.tags, |e, v| put_str(e, 2, v));
    put_map(out, 8, &p.fields_double, |e, v| put_double(e, 2, *v));
    put_map(out, 9, &p.fields_int, |e, v| put_i64(e, 2, *v));
    put_map(out, 10, &p.fields_string, |e, v| put_str(e, 2, v));
    put_bool(out, 11, p.by_name);
    put_map(out, 12, &p.fields_bool, |e, v| put_bool(e, 2, *v));
}

fn decode_point(buf: &[u8]) -> Result<Point, String> {
    const W: &str = "Point";
    let mut p = Point::default();
    let mut r = Reader::new(buf, W);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => p.time = as_u64(&w, W)? as i64,
            2 => p.name = as_string(&w, W)?,
            3 => p.database = as_string(&w, W)?,
            4 => p.retention_policy = as_string(&w, W)?,
            5 => p.group = as_string(&w, W)?,
            6 => p.dimensions.push(as_string(&w, W)?),
            7 => {
                let (k, v) = string_map_entry(as_bytes(&w, W)?, W)?;
                p.tags.insert(k, v);
            }
            8 => {
                let (k, v) = map_entry(as_bytes(&w, W)?, W)?;
                let v = v.map(|v| as_f64(&v, W)).transpose()?.unwrap_or(0.0);
                p.fields_double.insert(k, v);
            }
            9 => {
                let (k, v) = map_entry(as_bytes(&w, W)?, W)?;
                let v = v.map(|v| as_u64(&v, W)).transpose()?.unwrap_or(0);
                p.fields_int.insert(k, v as i64);
            }
            10 => {
                let (k, v) = string_map_entry(as_bytes(&w, W)?, W)?;
                p.fields_string.insert(k, v);
            }
            11 => p.by_name = as_u64(&w, W)? != 0,
            12 => {
                let (k, v) = map_entry(as_bytes(&w, W)?, W)?;
                let v = v.map(|v| as_u64(&v, W)).transpose()?.unwrap_or(0);
                p.fields_bool.insert(k, v != 0);
            }
            _ => {}
        }
    }
    Ok(p)
}

fn encode_end(out: &mut Vec<u8>, e: &EndBatch) {
    put_str(out, 1, &e.name);
    put_str(out, 2, &e.group);
    put_i64(out, 3, e.tmax);
    put_map(out, 4, &e.tags, |m, v| put_str(m, 2, v));
    put_bool(out, 5, e.by_name);
}

fn decode_end(buf: &[u8]) -> Result<EndBatch, String> {
    const W: &str = "EndBatch";
    let mut e = EndBatch::default();
    let mut r = Reader::new(buf, W);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => e.name = as_string(&w, W)?,
            2 => e.group = as_string(&w, W)?,
            3 => e.tmax = as_u64(&w, W)? as i64,
            4 => {
                let (k, v) = string_map_entry(as_bytes(&w, W)?, W)?;
                e.tags.insert(k, v);
            }
            5 => e.by_name = as_u64(&w, W)? != 0,
            _ => {}
        }
    }
    Ok(e)
}

fn encode_option_value(out: &mut Vec<u8>, v: &OptionValue) {
    put_u64(out, 1, v.value_type().wire());
    // A oneof member is written even when it holds its default.
    match v {
        OptionValue::Bool(b) => {
            key(out, 2, 0);
            varint(out, u64::from(*b));
        }
        OptionValue::Int(n) => {
            key(out, 3, 0);
            varint(out, *n as u64);
        }
        OptionValue::Double(x) => {
            key(out, 4, 1);
            out.extend_from_slice(&x.to_le_bytes());
        }
        OptionValue::String(s) => put_bytes_always(out, 5, s.as_bytes()),
        OptionValue::Duration(n) => {
            key(out, 6, 0);
            varint(out, *n as u64);
        }
    }
}

fn decode_option_value(buf: &[u8]) -> Result<OptionValue, String> {
    const W: &str = "OptionValue";
    let mut r = Reader::new(buf, W);
    let mut ty = ValueType::Bool;
    let mut value = None;
    while let Some((f, w)) = r.next()? {
        match f {
            1 => ty = ValueType::from_wire(as_u64(&w, W)?)?,
            2 => value = Some(OptionValue::Bool(as_u64(&w, W)? != 0)),
            3 => value = Some(OptionValue::Int(as_u64(&w, W)? as i64)),
            4 => value = Some(OptionValue::Double(as_f64(&w, W)?)),
            5 => value = Some(OptionValue::String(as_string(&w, W)?)),
            6 => value = Some(OptionValue::Duration(as_u64(&w, W)? as i64)),
            _ => {}
        }
    }
    Ok(value.unwrap_or(match ty {
        ValueType::Bool => OptionValue::Bool(false),
        ValueType::Int => OptionValue::Int(0),
        ValueType::Double => OptionValue::Double(0.0),
        ValueType::String => OptionValue::String(String::new()),
        ValueType::Duration => OptionValue::Duration(0),
    }))
}

/// A repeated enum field: packed (one length-delimited run) or one varint.
fn repeated_types(w: &Wire<'_>, out: &mut Vec<ValueType>) -> Result<(), String> {
    const W: &str = "OptionInfo";
    match w {
        Wire::Varint(n) => out.push(ValueType::from_wire(*n)?),
        Wire::Bytes(b) => {
            let mut r = Reader::new(b, W);
            while !r.buf.is_empty() {
                out.push(ValueType::from_wire(r.varint()?)?);
            }
        }
        _ => return Err(format!("{W}: want value types")),
    }
    Ok(())
}

fn edge(n: u64) -> Result<EdgeKind, String> {
    match n {
        0 => Ok(EdgeKind::Stream),
        1 => Ok(EdgeKind::Batch),
        other => Err(format!("unknown edge type {other}")),
    }
}

fn edge_wire(e: EdgeKind) -> u64 {
    match e {
        EdgeKind::Stream => 0,
        EdgeKind::Batch => 1,
    }
}

fn encode_info(out: &mut Vec<u8>, i: &Info) {
    put_u64(out, 1, edge_wire(i.wants));
    put_u64(out, 2, edge_wire(i.provides));
    for (name, types) in &i.options {
        put_msg(out, 3, |e| {
            put_str(e, 1, name);
            put_msg(e, 2, |o| {
                if !types.is_empty() {
                    let mut packed = Vec::new();
                    for t in types {
                        varint(&mut packed, t.wire());
                    }
                    put_bytes_always(o, 1, &packed);
                }
            });
        });
    }
}

fn decode_info(buf: &[u8]) -> Result<Info, String> {
    const W: &str = "InfoResponse";
    let mut info = Info::default();
    let mut r = Reader::new(buf, W);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => info.wants = edge(as_u64(&w, W)?)?,
            2 => info.provides = edge(as_u64(&w, W)?)?,
            3 => {
                let (name, v) = map_entry(as_bytes(&w, W)?, W)?;
                let mut types = Vec::new();
                if let Some(v) = v {
                    let mut o = Reader::new(as_bytes(&v, W)?, "OptionInfo");
                    while let Some((f, w)) = o.next()? {
                        if f == 1 {
                            repeated_types(&w, &mut types)?;
                        }
                    }
                }
                info.options.insert(name, types);
            }
            _ => {}
        }
    }
    Ok(info)
}

fn encode_init(out: &mut Vec<u8>, i: &Init) {
    for (name, values) in &i.options {
        put_msg(out, 1, |o| {
            put_str(o, 1, name);
            for v in values {
                put_msg(o, 2, |m| encode_option_value(m, v));
            }
        });
    }
    put_str(out, 2, &i.task_id);
    put_str(out, 3, &i.node_id);
}

fn decode_init(buf: &[u8]) -> Result<Init, String> {
    const W: &str = "InitRequest";
    let mut init = Init::default();
    let mut r = Reader::new(buf, W);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => {
                let mut o = Reader::new(as_bytes(&w, W)?, "Option");
                let (mut name, mut values) = (String::new(), Vec::new());
                while let Some((f, w)) = o.next()? {
                    match f {
                        1 => name = as_string(&w, "Option")?,
                        2 => values.push(decode_option_value(as_bytes(&w, "Option")?)?),
                        _ => {}
                    }
                }
                init.options.push((name, values));
            }
            2 => init.task_id = as_string(&w, W)?,
            3 => init.node_id = as_string(&w, W)?,
            _ => {}
        }
    }
    Ok(init)
}

/// `success` and `error` (init and restore responses).
fn encode_outcome(out: &mut Vec<u8>, success: bool, error: &str) {
    put_bool(out, 1, success);
    put_str(out, 2, error);
}

fn decode_outcome(buf: &[u8], what: &'static str) -> Result<(bool, String), String> {
    let mut r = Reader::new(buf, what);
    let (mut success, mut error) = (false, String::new());
    while let Some((f, w)) = r.next()? {
        match f {
            1 => success = as_u64(&w, what)? != 0,
            2 => error = as_string(&w, what)?,
            _ => {}
        }
    }
    Ok((success, error))
}

/// The first field of a message (keepalive times, snapshots, errors).
fn only_field<'a>(buf: &'a [u8], what: &'static str) -> Result<Option<Wire<'a>>, String> {
    let mut r = Reader::new(buf, what);
    let mut found = None;
    while let Some((f, w)) = r.next()? {
        if f == 1 {
            found = Some(w);
        }
    }
    Ok(found)
}

fn time_of(buf: &[u8], what: &'static str) -> Result<i64, String> {
    Ok(only_field(buf, what)?
        .map(|w| as_u64(&w, what))
        .transpose()?
        .unwrap_or(0) as i64)
}

fn bytes_of(buf: &[u8], what: &'static str) -> Result<Vec<u8>, String> {
    Ok(only_field(buf, what)?
        .map(|w| as_bytes(&w, what).map(<[u8]>::to_vec))
        .transpose()?
        .unwrap_or_default())
}

impl Request {
    /// The message's bytes (without the length prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Request::Info => put_msg(&mut out, 1, |_| {}),
            Request::Init(i) => put_msg(&mut out, 2, |m| encode_init(m, i)),
            Request::Keepalive(t) => put_msg(&mut out, 3, |m| put_i64(m, 1, *t)),
            Request::Snapshot => put_msg(&mut out, 4, |_| {}),
            Request::Restore(s) => put_msg(&mut out, 5, |m| put_bytes(m, 1, s)),
            Request::Begin(b) => put_msg(&mut out, 16, |m| encode_begin(m, b)),
            Request::Point(p) => put_msg(&mut out, 17, |m| encode_point(m, p)),
            Request::End(e) => put_msg(&mut out, 18, |m| encode_end(m, e)),
        }
        out
    }

    /// Decodes a request; `Err` says what does not decode.
    pub fn decode(buf: &[u8]) -> Result<Request, String> {
        let mut r = Reader::new(buf, "Request");
        let mut found = None;
        while let Some((f, w)) = r.next()? {
            let b = as_bytes(&w, "Request")?;
            found = Some(match f {
                1 => Request::Info,
                2 => Request::Init(decode_init(b)?),
                3 => Request::Keepalive(time_of(b, "KeepaliveRequest")?),
                4 => Request::Snapshot,
                5 => Request::Restore(bytes_of(b, "RestoreRequest")?),
                16 => Request::Begin(decode_begin(b)?),
                17 => Request::Point(decode_point(b)?),
                18 => Request::End(decode_end(b)?),
                _ => continue,
            });
        }
        found.ok_or_else(|| "Request: no message".to_string())
    }
}

impl Response {
    /// The message's bytes (without the length prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Response::Info(i) => put_msg(&mut out, 1, |m| encode_info(m, i)),
            Response::Init { success, error } => {
                put_msg(&mut out, 2, |m| encode_outcome(m, *success, error));
            }
            Response::Keepalive(t) => put_msg(&mut out, 3, |m| put_i64(m, 1, *t)),
            Response::Snapshot(s) => put_msg(&mut out, 4, |m| put_bytes(m, 1, s)),
            Response::Restore { success, error } => {
                put_msg(&mut out, 5, |m| encode_outcome(m, *success, error));
            }
            Response::Error(e) => put_msg(&mut out, 6, |m| put_str(m, 1, e)),
            Response::Begin(b) => put_msg(&mut out, 16, |m| encode_begin(m, b)),
            Response::Point(p) => put_msg(&mut out, 17, |m| encode_point(m, p)),
            Response::End(e) => put_msg(&mut out, 18, |m| encode_end(m, e)),
        }
        out
    }

    /// Decodes a response; `Err` says what does not decode.
    pub fn decode(buf: &[u8]) -> Result<Response, String> {
        let mut r = Reader::new(buf, "Response");
        let mut found = None;
        while let Some((f, w)) = r.next()? {
            let b = as_bytes(&w, "Response")?;
            found = Some(match f {
                1 => Response::Info(decode_info(b)?),
                2 => {
                    let (success, error) = decode_outcome(b, "InitResponse")?;
                    Response::Init { success, error }
                }
                3 => Response::Keepalive(time_of(b, "KeepaliveResponse")?),
                4 => Response::Snapshot(bytes_of(b, "SnapshotResponse")?),
                5 => {
                    let (success, error) = decode_outcome(b, "RestoreResponse")?;
                    Response::Restore { success, error }
                }
                6 => Response::Error(
                    String::from_utf8(bytes_of(b, "ErrorResponse")?)
                        .map_err(|_| "ErrorResponse: not UTF-8".to_string())?,
                ),
                16 => Response::Begin(decode_begin(b)?),
                17 => Response::Point(decode_point(b)?),
                18 => Response::End(decode_end(b)?),
                _ => continue,
            });
        }
        found.ok_or_else(|| "Response: no message".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point() -> Point {
        Point {
            time: -5,
            name: "cpu".into(),
            database: "telegraf".into(),
            retention_policy: "autogen".into(),
            group: "host=a".into(),
            dimensions: vec!["host".into()],
            tags: [("host".to_string(), "a".to_string())].into(),
            fields_double: [("usage".to_string(), 0.0), ("x".to_string(), -1.5)].into(),
            fields_int: [("n".to_string(), -7)].into(),
            fields_string: [("s".to_string(), String::new())].into(),
            fields_bool: [("ok".to_string(), true)].into(),
            by_name: true,
        }
    }

    #[test]
    fn every_message_decodes_to_what_was_encoded() {
        let requests = [
            Request::Info,
            Request::Init(Init {
                options: vec![
                    ("field".into(), vec![OptionValue::String("value".into())]),
                    (
                        "size".into(),
                        vec![
                            OptionValue::Int(0),
                            OptionValue::Double(2.5),
                            OptionValue::Bool(false),
                            OptionValue::Duration(-1),
                        ],
                    ),
                ],
                task_id: "t".into(),
                node_id: "movingAverage2".into(),
            }),
            Request::Keepalive(1_700_000_000_000_000_000),
            Request::Snapshot,
            Request::Restore(vec![0, 1, 2]),
            Request::Begin(BeginBatch {
                name: "cpu".into(),
                group: "host=a".into(),
                tags: [("host".to_string(), "a".to_string())].into(),
                size: 3,
                by_name: false,
            }),
            Request::Point(point()),
            Request::End(EndBatch {
                name: "cpu".into(),
                group: String::new(),
                tmax: 10,
                tags: BTreeMap::new(),
                by_name: true,
            }),
        ];
        for r in requests {
            assert_eq!(Request::decode(&r.encode()), Ok(r.clone()), "{r:?}");
        }
        let responses = [
            Response::Info(Info {
                wants: EdgeKind::Stream,
                provides: EdgeKind::Batch,
                options: [
                    ("field".to_string(), vec![ValueType::String]),
                    ("none".to_string(), vec![]),
                    (
                        "range".to_string(),
                        vec![ValueType::Double, ValueType::Duration],
                    ),
                ]
                .into(),
            }),
            Response::Init {
                success: false,
                error: "bad".into(),
            },
            Response::Keepalive(3),
            Response::Snapshot(vec![9; 4]),
            Response::Restore {
                success: true,
                error: String::new(),
            },
            Response::Error("boom".into()),
            Response::Point(point()),
        ];
        for r in responses {
            assert_eq!(Response::decode(&r.encode()), Ok(r.clone()), "{r:?}");
        }
    }

    /// Bytes as Go's protobuf writes them: the field numbers of `udf.proto`.
    #[test]
    fn field_numbers_are_udf_protos() {
        // Response{info: {wants: STREAM, provides: BATCH, options: {"f": {valueTypes:
        // [STRING]}}}}: field 1 (info), provides = field 2 varint 1, map entry field 3.
        let info = Response::Info(Info {
            wants: EdgeKind::Stream,
            provides: EdgeKind::Batch,
            options: [("f".to_string(), vec![ValueType::String])].into(),
        });
        assert_eq!(
            info.encode(),
            [
                0x0a, 0x0c, 0x10, 0x01, 0x1a, 0x08, 0x0a, 0x01, b'f', 0x12, 0x03, 0x0a, 0x01, 0x03
            ]
        );
        // Request{point: {time: 1, fieldsBool: {"b": true}}}: point is field 17 (two-byte
        // key 0x8a 0x01), fieldsBool field 12.
        let p = Request::Point(Point {
            time: 1,
            fields_bool: [("b".to_string(), true)].into(),
            ..Point::default()
        });
        assert_eq!(
            p.encode(),
            [
                0x8a, 0x01, 0x09, 0x08, 0x01, 0x62, 0x05, 0x0a, 0x01, b'b', 0x10, 0x01
            ]
        );
        // Unpacked repeated value types decode as well.
        let unpacked = [
            0x0a, 0x0b, 0x1a, 0x09, 0x0a, 0x01, b'f', 0x12, 0x04, 0x08, 0x03, 0x08, 0x01,
        ];
        let Ok(Response::Info(i)) = Response::decode(&unpacked) else {
            panic!("unpacked value types")
        };
        assert_eq!(i.options["f"], [ValueType::String, ValueType::Int]);
    }

    #[test]
    fn frames_are_length_prefixed() {
        let mut buf = Vec::new();
        let big = vec![7u8; 300];
        write_frame(&mut buf, &big).unwrap();
        write_frame(&mut buf, b"").unwrap();
        assert_eq!(&buf[..2], [0xac, 0x02]);
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r).unwrap(), Some(big));
        assert_eq!(read_frame(&mut r).unwrap(), Some(Vec::new()));
        assert_eq!(read_frame(&mut r).unwrap(), None);
        let mut cut = &[0x05u8, 1, 2][..];
        assert!(read_frame(&mut cut).is_err());
    }

    #[test]
    fn broken_messages_say_what() {
        assert_eq!(
            Response::decode(&[0x8a, 0x01, 0x05, 0x08]).unwrap_err(),
            "Response: a field runs past the end"
        );
        assert_eq!(Response::decode(&[]).unwrap_err(), "Response: no message");
    }
}
