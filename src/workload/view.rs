//! A workload in safe code: typed regions of the shared memory, what each part of each stage
//! reads and writes, checked once, and the views that hand each part its slices.
//!
//! A workload lays its shared memory out as typed [`Region`]s (with a [`Layout`]) and says, for
//! every part of every stage, which elements of which regions it reads and which it writes
//! ([`Access`], from [`Workload::access`]). Before any part runs, [`Decomposition::check`]
//! proves that no part of a stage writes what another part of the same stage reads or writes.
//! A part then gets a [`View`] that hands it `&[T]` for what it declared it reads and `&mut [T]`
//! for what it declared it writes, and nothing else; the view also refuses to hand the same
//! elements out twice as `&mut`, or as `&mut` and `&` at once. The sequential twin,
//! [`Workload::init`], [`Workload::reset`] and the verification get a view of the whole memory,
//! alone ([`init`], [`reset`], [`verify`] take the mapping's lease for it).
//!
//! Where the `unsafe` is: the two constructors of a view ([`Decomposition`]'s per part, and the
//! whole-memory one), whose contracts the strategies keep (stages in order with every part of a
//! stage finished before the next starts, one view per part, nothing else touching the memory
//! meanwhile), and `View::take`, the one place a slice is made of the shared bytes, whose safety
//! rests on the check. The workloads contain none; neither does a user's.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Bound, Range, RangeBounds};

use super::exchange::PartData;
use super::{VerifyError, Workload};
use crate::shm::SharedMem;

/// Plain data: a type every bit pattern of whose bytes is a valid value, with no pointers and no
/// interior mutability, so that it can live in memory other processes write. Implemented for the
/// integer and floating-point types and arrays of them.
///
/// # Safety
/// Every bit pattern of `size_of::<Self>()` bytes must be a valid `Self`, and `Self` must hold
/// no references, pointers or cells.
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => {
        // SAFETY: every bit pattern is a valid value of these types.
        $(unsafe impl Plain for $t {})*
    };
}
plain!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);
// SAFETY: an array of plain values is plain.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}

/// Where regions start: every region begins on a page of its own.
const PAGE: usize = 4096;

/// A typed array in a workload's shared memory: `len` values of `T`, named for error messages.
/// Made by [`Layout::region`]; `Copy`, so a workload keeps its regions as fields and names them
/// in [`Access`] and [`View`] calls.
pub struct Region<T> {
    name: &'static str,
    /// Byte offset in the mapping.
    offset: usize,
    len: usize,
    elem: PhantomData<fn() -> T>,
}

impl<T> Clone for Region<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Region<T> {}

impl<T> fmt::Debug for Region<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] of {} at byte {}",
            self.name,
            self.len,
            std::any::type_name::<T>(),
            self.offset
        )
    }
}

impl<T: Plain> Region<T> {
    /// Values it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The byte range of its elements `elems` in the mapping (saturating: an impossible range
    /// lies past the mapping and fails its bounds check).
    pub(crate) fn bytes(&self, elems: Range<usize>) -> Range<usize> {
        let size = std::mem::size_of::<T>();
        let at = |i: usize| self.offset.saturating_add(i.saturating_mul(size));
        at(elems.start)..at(elems.end)
    }
}

/// How a workload's shared memory is laid out: its regions, one after another, each starting on
/// a page of its own. Build one in the workload's constructor, keep the regions, and give
/// [`Layout::bytes`] as [`Workload::shared_bytes`].
#[derive(Debug, Clone, Default)]
pub struct Layout {
    bytes: usize,
}

impl Layout {
    /// An empty layout.
    pub fn new() -> Layout {
        Layout::default()
    }

    /// Add a region of `len` values of `T`, starting on the next page.
    pub fn region<T: Plain>(&mut self, name: &'static str, len: usize) -> Region<T> {
        let offset = self
            .bytes
            .checked_next_multiple_of(PAGE)
            .unwrap_or(usize::MAX);
        self.bytes = offset.saturating_add(len.saturating_mul(std::mem::size_of::<T>()));
        Region {
            name,
            offset,
            len,
            elem: PhantomData,
        }
    }

    /// Bytes of shared memory the regions need.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// How a part uses a range it declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Reads it.
    Read,
    /// Writes it without reading what was there; a later stage or the verification reads it.
    Write,
    /// Reads it and writes it.
    Update,
    /// Writes it for itself; nobody reads it afterwards.
    Scratch,
}

impl Use {
    fn writes(self) -> bool {
        self != Use::Read
    }

    fn verb(self) -> &'static str {
        match self {
            Use::Read => "reads",
            Use::Write => "writes",
            Use::Update => "updates",
            Use::Scratch => "uses as scratch",
        }
    }
}

/// One declared range.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    region: &'static str,
    /// The region's byte offset: with the name, which region this is.
    region_offset: usize,
    region_len: usize,
    elems: Range<usize>,
    bytes: Range<usize>,
    how: Use,
}

impl Grant {
    fn of<T: Plain>(region: Region<T>, elems: impl RangeBounds<usize>, how: Use) -> Grant {
        let start = match elems.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match elems.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => region.len,
        };
        Grant {
            region: region.name,
            region_offset: region.offset,
            region_len: region.len,
            bytes: region.bytes(start..end.max(start)),
            elems: start..end,
            how,
        }
    }

    fn is_region<T>(&self, region: &Region<T>) -> bool {
        self.region_offset == region.offset && self.region == region.name
    }

    fn describe(&self) -> String {
        format!(
            "{} {}[{}..{}]",
            self.how.verb(),
            self.region,
            self.elems.start,
            self.elems.end
        )
    }
}

/// What one part of one stage reads and writes, element ranges of the workload's regions:
/// `Access::new().read(self.a, rows).read(self.b, ..).write(self.c, rows)`.
///
/// The part's [`View`] hands out exactly these ranges; `Decomposition::check` refuses a stage
/// in which a part writes (`write`, `update`, `scratch`) anything another part of the stage
/// reads or writes. Under `distributed`, where parts share no memory, the same declarations say
/// what each part receives before the stage (`read`, `update`) and what it holds afterwards
/// (`write`, `update`); scratch travels nowhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    grants: Vec<Grant>,
    exchanges: bool,
}

impl Access {
    /// A part that touches nothing (yet).
    pub fn new() -> Access {
        Access::default()
    }

    fn with(mut self, grant: Grant) -> Access {
        self.grants.push(grant);
        self
    }

    /// Also reads `elems` of `region` (`..` for all of it).
    pub fn read<T: Plain>(self, region: Region<T>, elems: impl RangeBounds<usize>) -> Access {
        self.with(Grant::of(region, elems, Use::Read))
    }

    /// Also writes `elems` of `region` without reading what was there before; a later stage or
    /// the verification reads them.
    pub fn write<T: Plain>(self, region: Region<T>, elems: impl RangeBounds<usize>) -> Access {
        self.with(Grant::of(region, elems, Use::Write))
    }

    /// Also reads and writes `elems` of `region` (in-place work: sorting a run, stamping slots).
    pub(crate) fn update<T: Plain>(
        self,
        region: Region<T>,
        elems: impl RangeBounds<usize>,
    ) -> Access {
        self.with(Grant::of(region, elems, Use::Update))
    }

    /// Also writes `elems` of `region` as scratch that nobody reads after the stage.
    pub(crate) fn scratch<T: Plain>(
        self,
        region: Region<T>,
        elems: impl RangeBounds<usize>,
    ) -> Access {
        self.with(Grant::of(region, elems, Use::Scratch))
    }

    /// When the parts share no memory (`distributed`), this stage moves its data itself through
    /// [`super::Collectives`] in [`Workload::run_part_exchanging`], because what a part needs
    /// depends on the data (merge sort's merge). The declared ranges still hold for the
    /// strategies over shared memory.
    pub(crate) fn exchanging(mut self) -> Access {
        self.exchanges = true;
        self
    }

    /// The byte ranges it declares, every use.
    pub(crate) fn byte_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.grants.iter().map(|g| g.bytes.clone())
    }

    /// The byte ranges it declares it writes for later stages or the verification (`write`,
    /// `update`).
    pub(crate) fn declared_writes(&self) -> Vec<Range<usize>> {
        self.grants
            .iter()
            .filter(|g| matches!(g.how, Use::Write | Use::Update) && !g.bytes.is_empty())
            .map(|g| g.bytes.clone())
            .collect()
    }

    /// What the part reads and writes as bytes, for `distributed`: it receives what it reads
    /// (`read`, `update`) and holds what it writes (`write`, `update`).
    pub(crate) fn part_data(&self) -> PartData {
        if self.exchanges {
            return PartData::exchanging();
        }
        let mut d = PartData::new();
        for g in self.grants.iter().filter(|g| !g.bytes.is_empty()) {
            if matches!(g.how, Use::Read | Use::Update) {
                d = d.read(g.bytes.clone());
            }
            if matches!(g.how, Use::Write | Use::Update) {
                d = d.write(g.bytes.clone());
            }
        }
        d
    }
}

/// Two parts of a stage that would touch the same memory while one of them writes it, or a part
/// that declares elements its region does not have: found by `Decomposition::check` before
/// anything runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct AccessError {
    /// The stage.
    pub(crate) stage: usize,
    /// A part at fault.
    pub(crate) part: usize,
    /// What is wrong, naming the parts and the ranges.
    pub(crate) message: String,
}

/// A workload's parallel form for one number of parts, checked: every part's [`Access`] in every
/// stage, no two parts of a stage in each other's way. The strategies build one per execution
/// (a worker process its own) and cut each part's [`View`] from it.
#[derive(Debug, Clone)]
pub struct Decomposition {
    parts: usize,
    /// `[stage][part]`.
    stages: Vec<Vec<Access>>,
}

impl Decomposition {
    /// Ask `workload` what each of `parts` parts touches in each stage, and check that within a
    /// stage no part writes what another part reads or writes, and that every range lies in its
    /// region.
    pub(crate) fn check<W: Workload + ?Sized>(
        workload: &W,
        parts: usize,
    ) -> Result<Decomposition, AccessError> {
        let names = workload.stages(parts);
        let mut stages = Vec::with_capacity(names.len());
        for (stage, info) in names.iter().enumerate() {
            let accesses: Vec<Access> = (0..parts)
                .map(|part| workload.access(stage, part, parts))
                .collect();
            check_stage(stage, info.name, &accesses)?;
            stages.push(accesses);
        }
        Ok(Decomposition { parts, stages })
    }

    /// Parts per stage.
    pub(crate) fn parts(&self) -> usize {
        self.parts
    }

    /// Stages.
    pub(crate) fn stages(&self) -> usize {
        self.stages.len()
    }

    /// What part `part` touches in stage `stage`.
    pub(crate) fn access(&self, stage: usize, part: usize) -> &Access {
        &self.stages[stage][part]
    }

    /// The view of part `part` in stage `stage` over `mem`.
    ///
    /// # Safety
    /// While the view or a slice taken from it lives, the only other views of `mem`'s mapping in
    /// this process are those of other parts of the same stage of this decomposition, at most one
    /// per part (so a stage starts only once every part of the one before has finished), and
    /// nothing else reads or writes the mapping (no whole view, no raw slice of
    /// `SharedMem::slice`). Worker processes mapping the same memory keep to the same rule: their
    /// parent starts a stage only when every worker has finished the one before.
    pub(crate) unsafe fn view<'a>(
        &self,
        mem: SharedMem<'a>,
        stage: usize,
        part: usize,
    ) -> View<'a> {
        View {
            mem,
            grants: self.stages[stage][part].grants.clone(),
            whole: false,
            taken: RefCell::new(Vec::new()),
        }
    }
}

/// A stage's parts in each other's way, or a range outside its region.
fn check_stage(stage: usize, name: &str, accesses: &[Access]) -> Result<(), AccessError> {
    let mut writes: Vec<(usize, &Grant)> = Vec::new();
    let mut all: Vec<(usize, &Grant)> = Vec::new();
    for (part, access) in accesses.iter().enumerate() {
        for g in &access.grants {
            if g.elems.start > g.elems.end || g.elems.end > g.region_len {
                return Err(AccessError {
                    stage,
                    part,
                    message: format!(
                        "stage {stage} ({name}): part {part} {} but {} has {} elements",
                        g.describe(),
                        g.region,
                        g.region_len
                    ),
                });
            }
            if g.bytes.is_empty() {
                continue;
            }
            all.push((part, g));
            if g.how.writes() {
                writes.push((part, g));
            }
        }
    }
    let clash = |(a, ga): (usize, &Grant), (b, gb): (usize, &Grant)| {
        AccessError {
        stage,
        part: b,
        message: format!(
            "stage {stage} ({name}): part {a} {} while part {b} {}: parts of one stage may not touch what another writes",
            ga.describe(),
            gb.describe()
        ),
    }
    };
    // The writes, sorted by start, merged into runs of one part each: a write that starts inside
    // the current run of another part is a clash.
    writes.sort_by_key(|(_, g)| g.bytes.start);
    let mut merged: Vec<(usize, Range<usize>, Vec<&Grant>)> = Vec::new();
    for &(part, g) in &writes {
        match merged.last_mut() {
            Some((p, r, gs)) if g.bytes.start < r.end => {
                if *p != part {
                    let w = gs
                        .iter()
                        .find(|w| w.bytes.end > g.bytes.start)
                        .expect("a write of the run reaches this far");
                    return Err(clash((*p, w), (part, g)));
                }
                r.end = r.end.max(g.bytes.end);
                gs.push(g);
            }
            _ => merged.push((part, g.bytes.clone(), vec![g])),
        }
    }
    // Every use against the runs of writes, which are sorted and disjoint.
    for &(part, g) in &all {
        let first = merged.partition_point(|(_, r, _)| r.end <= g.bytes.start);
        for (p, r, ws) in &merged[first..] {
            if r.start >= g.bytes.end {
                break;
            }
            if *p != part {
                let w = ws
                    .iter()
                    .find(|w| w.bytes.start < g.bytes.end && g.bytes.start < w.bytes.end)
                    .unwrap_or(&ws[0]);
                return Err(clash((*p, w), (part, g)));
            }
        }
    }
    Ok(())
}

/// What one part (or the whole job, alone) may touch of the shared memory, handed out as typed
/// slices: `&[T]` of what it reads, `&mut [T]` of what it writes. Asking for a region the part
/// did not declare, or for elements already handed out as `&mut` (or, for `&mut`, already handed
/// out at all), panics with the region's name: a bug of the workload, found where it is made.
///
/// The slices live as long as the mapping's handle (`'a`), not as long as the borrow of the
/// view, so a part can take its keys and its scratch at once and keep them in the steps it
/// returns from [`Workload::part_steps`].
#[derive(Debug)]
pub struct View<'a> {
    mem: SharedMem<'a>,
    grants: Vec<Grant>,
    /// A view of all of the memory, alone (twin, init, reset, verify).
    whole: bool,
    /// Byte ranges handed out, and whether as `&mut`.
    taken: RefCell<Vec<(Range<usize>, bool)>>,
}

impl<'a> View<'a> {
    /// A view of all of `mem`, alone.
    ///
    /// # Safety
    /// While the view or a slice taken from it lives, nothing else in this process reads or
    /// writes `mem`'s mapping (no other view, no raw slice of `SharedMem::slice`), and no worker
    /// process does.
    pub(crate) unsafe fn whole(mem: SharedMem<'a>) -> View<'a> {
        View {
            mem,
            grants: Vec::new(),
            whole: true,
            taken: RefCell::new(Vec::new()),
        }
    }

    /// The elements of `region` this view has (with `&mut` as well when `writable`): all of
    /// them for a whole view, the span of its declared ranges for a part.
    fn granted<T: Plain>(&self, region: &Region<T>, writable: bool) -> Range<usize> {
        if self.whole {
            return 0..region.len;
        }
        let mut mine = self
            .grants
            .iter()
            .filter(|g| g.is_region(region) && (!writable || g.how.writes()))
            .peekable();
        if mine.peek().is_none() {
            panic!(
                "this part did not declare that it {} {} (Workload::access)",
                if writable { "writes" } else { "reads" },
                region.name
            );
        }
        let span =
            mine.filter(|g| !g.elems.is_empty())
                .fold(None, |acc: Option<Range<usize>>, g| {
                    Some(match acc {
                        None => g.elems.clone(),
                        Some(a) => a.start.min(g.elems.start)..a.end.max(g.elems.end),
                    })
                });
        span.unwrap_or(0..0)
    }

    /// What this part reads of `region`: the elements it declared (all of `region` for the
    /// whole memory).
    pub fn read<T: Plain>(&self, region: Region<T>) -> &'a [T] {
        let elems = self.granted(&region, false);
        self.take_shared(region, elems)
    }

    /// What this part writes of `region`, as `&mut`: the elements it declared as written
    /// (all of `region` for the whole memory).
    pub fn write<T: Plain>(&self, region: Region<T>) -> &'a mut [T] {
        let elems = self.granted(&region, true);
        self.take_mut(region, elems)
    }

    /// Elements `elems` of `region` (indices in the region), which this part declared it reads
    /// or writes.
    #[cfg(test)]
    pub(crate) fn read_at<T: Plain>(&self, region: Region<T>, elems: Range<usize>) -> &'a [T] {
        self.take_shared(region, elems)
    }

    fn take_shared<T: Plain>(&self, region: Region<T>, elems: Range<usize>) -> &'a [T] {
        match self.take(&region, elems, false) {
            // SAFETY: `take` checked the range (see there); nothing may write it meanwhile.
            Some((offset, len)) => unsafe { self.mem.slice::<T>(offset, len) },
            None => &[],
        }
    }

    fn take_mut<T: Plain>(&self, region: Region<T>, elems: Range<usize>) -> &'a mut [T] {
        match self.take(&region, elems, true) {
            // SAFETY: `take` checked the range (see there); nothing else may touch it meanwhile.
            Some((offset, len)) => unsafe { self.mem.slice_mut::<T>(offset, len) },
            None => &mut [],
        }
    }

    /// Check that `elems` of `region` may be handed out (as `&mut` when `mutable`) and record
    /// them as handed out; their byte offset and length, or `None` when empty.
    ///
    /// Why the slice made of it is sound: the range lies in this view's grants (writable ones
    /// for `&mut`); [`Decomposition::check`] proved that no other part of the stage has a grant
    /// overlapping a writable one, and the view constructors' contracts say no other view or
    /// raw access lives meanwhile; this view itself hands out no range as `&mut` that overlaps
    /// anything else it handed out. `T: Plain` makes any bytes a valid `T`, and
    /// `SharedMem::slice` checks bounds and alignment.
    fn take<T: Plain>(
        &self,
        region: &Region<T>,
        elems: Range<usize>,
        mutable: bool,
    ) -> Option<(usize, usize)> {
        assert!(
            elems.start <= elems.end && elems.end <= region.len,
            "{}[{}..{}] is outside {} (it has {} elements)",
            region.name,
            elems.start,
            elems.end,
            region.name,
            region.len
        );
        if elems.is_empty() {
            return None;
        }
        let bytes = region.bytes(elems.clone());
        if !self.whole {
            // Covered by this view's grants, one after another.
            let mut at = bytes.start;
            while at < bytes.end {
                at = self
                    .grants
                    .iter()
                    .filter(|g| !mutable || g.how.writes())
                    .find(|g| g.bytes.start <= at && at < g.bytes.end)
                    .map(|g| g.bytes.end)
                    .unwrap_or_else(|| {
                        panic!(
                            "this part did not declare that it {} {}[{}..{}] (Workload::access)",
                            if mutable { "writes" } else { "reads" },
                            region.name,
                            elems.start,
                            elems.end
                        )
                    });
            }
        }
        let mut taken = self.taken.borrow_mut();
        if let Some((_, was_mut)) = taken
            .iter()
            .find(|(r, m)| (mutable || *m) && r.start < bytes.end && bytes.start < r.end)
        {
            panic!(
                "{}[{}..{}] is already handed out{}: a view gives each element as &mut once, or as & any number of times",
                region.name,
                elems.start,
                elems.end,
                if *was_mut { " as &mut" } else { "" }
            );
        }
        taken.push((bytes.clone(), mutable));
        Some((bytes.start, elems.len()))
    }

    /// Hand everything out at once: nothing more can be taken from this view. Refused (a panic)
    /// when something already was, or when this is not a view of the whole memory.
    fn spend(&self, what: &str) {
        let mut taken = self.taken.borrow_mut();
        assert!(
            self.whole && taken.is_empty(),
            "{what} needs the view of the whole memory, before anything is taken from it"
        );
        taken.push((0..usize::MAX, true));
    }

    /// Run the parallel form with `parts` parts on this thread, the parts of each stage one
    /// after another, each with its own view: what the default [`Workload::run_sequential`]
    /// does with one part. Only on the view of the whole memory, before anything is taken from
    /// it; nothing can be taken from it afterwards.
    ///
    /// # Panics
    /// When the decomposition fails [`Decomposition::check`].
    pub(crate) fn run_parts<W: Workload + ?Sized>(&self, workload: &W, parts: usize) {
        self.spend("running the parts in turn");
        let d = Decomposition::check(workload, parts).unwrap_or_else(|e| panic!("{e}"));
        for stage in 0..d.stages() {
            for part in 0..parts {
                // SAFETY: this view had all of the memory alone and is spent, so no other view
                // or slice of it lives; the parts run one after another, and each one's view (and
                // everything it took, which `run_part` cannot keep) is gone before the next.
                let view = unsafe { d.view(self.mem, stage, part) };
                workload.run_part(&view, stage, part, parts);
            }
        }
    }

    /// The view of one part with `access` cut from this view of the whole memory, for a part
    /// that has the memory to itself (an MPI rank's region): what the default
    /// [`Workload::run_part_exchanging`] runs [`Workload::run_part`] on. Only before anything
    /// is taken from this view; nothing can be taken from it afterwards.
    pub(crate) fn narrow(&self, access: &Access) -> View<'a> {
        self.spend("narrowing to one part");
        View {
            mem: self.mem,
            grants: access.grants.clone(),
            whole: false,
            taken: RefCell::new(Vec::new()),
        }
    }
}

/// Run `f` on a view of all of `mem`, holding the mapping's lease meanwhile.
fn alone<R>(mem: SharedMem<'_>, f: impl FnOnce(&View<'_>) -> R) -> R {
    let _lease = mem.lease();
    // SAFETY: the lease keeps every other execution, reset, initialisation and verification off
    // this mapping in this process, and no worker runs outside an execution; `f` gets the view
    // by reference and cannot keep it (nor, the trait methods being generic over the view's
    // lifetime, its slices) past this call.
    let view = unsafe { View::whole(mem) };
    f(&view)
}

/// [`Workload::init`] on `mem`, alone (the mapping's lease held).
pub fn init(workload: &dyn Workload, mem: SharedMem<'_>) {
    alone(mem, |v| workload.init(v))
}

/// [`Workload::reset`] on `mem`, alone (the mapping's lease held).
pub fn reset(workload: &dyn Workload, mem: SharedMem<'_>) {
    alone(mem, |v| workload.reset(v))
}

/// The parallel form with `parts` parts on the calling thread, the parts of each stage one after
/// another ([`View::run_parts`]), on `mem`, alone (the mapping's lease held): the same split the
/// strategies run, without their threads or processes. `mem` must hold an initialised and reset
/// workload.
///
/// # Panics
/// When the decomposition fails [`Decomposition::check`].
pub(crate) fn run_parts_alone(workload: &dyn Workload, mem: SharedMem<'_>, parts: usize) {
    alone(mem, |v| v.run_parts(workload, parts))
}

/// [`Workload::verify`] on `mem`, alone (the mapping's lease held).
pub fn verify(
    workload: &dyn Workload,
    mem: SharedMem<'_>,
    parts: Option<usize>,
) -> Result<(), VerifyError> {
    alone(mem, |v| workload.verify(v, parts))
}

/// [`Workload::verify_distributed`] on rank 0's `mem`, alone (the mapping's lease held).
pub fn verify_distributed(
    workload: &dyn Workload,
    mem: SharedMem<'_>,
    parts: usize,
    written: &[Vec<Range<usize>>],
) -> Result<(), VerifyError> {
    alone(mem, |v| workload.verify_distributed(v, parts, written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm::SharedRegion;
    use crate::workload::{Stage, StageKind, WorkloadSpec};

    /// Two stages over two regions: parts write their own slice of `a`, then read all of `a`
    /// and write their own slice of `b`; `clash` makes part 1 also write part 0's first element.
    struct Two {
        spec: WorkloadSpec,
        layout: Layout,
        a: Region<u64>,
        b: Region<u32>,
        clash: bool,
    }

    fn two(n: usize, clash: bool) -> Two {
        let mut layout = Layout::new();
        let a = layout.region("a", n);
        let b = layout.region("b", n);
        Two {
            spec: WorkloadSpec::new("two", n, 1),
            layout,
            a,
            b,
            clash,
        }
    }

    impl Workload for Two {
        fn spec(&self) -> &WorkloadSpec {
            &self.spec
        }
        fn shared_bytes(&self) -> usize {
            self.layout.bytes()
        }
        fn stages(&self, _parts: usize) -> Vec<Stage> {
            vec![
                Stage {
                    name: "fill",
                    kind: StageKind::Compute,
                },
                Stage {
                    name: "copy",
                    kind: StageKind::Combine,
                },
            ]
        }
        fn access(&self, stage: usize, part: usize, parts: usize) -> Access {
            let mine = super::super::part_range(self.a.len(), part, parts);
            match stage {
                0 if self.clash && part == 1 => Access::new().write(self.a, 0..mine.end),
                0 => Access::new().write(self.a, mine),
                _ => Access::new().read(self.a, ..).write(self.b, mine),
            }
        }
        fn run_part(&self, mem: &View<'_>, stage: usize, part: usize, parts: usize) {
            let mine = super::super::part_range(self.a.len(), part, parts);
            if stage == 0 {
                for (i, x) in mem.write(self.a).iter_mut().enumerate() {
                    *x = (mine.start + i) as u64 * 3;
                }
            } else {
                let a = mem.read(self.a);
                for (i, y) in mem.write(self.b).iter_mut().enumerate() {
                    *y = a[mine.start + i] as u32 + 1;
                }
            }
        }
        fn verify(&self, mem: &View<'_>, _parts: Option<usize>) -> Result<(), VerifyError> {
            let b = mem.read(self.b);
            match (0..b.len()).find(|&i| b[i] != i as u32 * 3 + 1) {
                Some(i) => Err(VerifyError::new(format!("b[{i}] is {}", b[i]))),
                None => Ok(()),
            }
        }
    }

    #[test]
    fn regions_start_on_pages_of_their_own() {
        let w = two(1000, false);
        assert_eq!(w.a.bytes(0..1000), 0..8000);
        assert_eq!(w.b.bytes(0..1), 8192..8196);
        assert_eq!(w.shared_bytes(), 8192 + 4000);
    }

    #[test]
    fn the_default_twin_and_the_parts_in_turn_verify_for_awkward_counts() {
        for n in [0, 1, 5, 100] {
            let w = two(n, false);
            let region = SharedRegion::new(w.shared_bytes()).unwrap();
            alone(region.mem(), |v| w.run_sequential(v));
            verify(&w, region.mem(), None).unwrap();
            for parts in [1, 2, 3, 7] {
                reset(&w, region.mem());
                run_parts_alone(&w, region.mem(), parts);
                verify(&w, region.mem(), Some(parts)).unwrap();
            }
        }
    }

    #[test]
    fn a_part_writing_another_parts_range_is_refused_before_anything_runs() {
        let e = Decomposition::check(&two(10, true), 2).unwrap_err();
        assert_eq!((e.stage, e.part), (0, 1));
        assert_eq!(
            e.message,
            "stage 0 (fill): part 0 writes a[0..5] while part 1 writes a[0..10]: parts of one stage may not touch what another writes"
        );
        // One part cannot clash with itself.
        Decomposition::check(&two(10, true), 1).unwrap();
        // Reading what another part of the same stage writes is refused too.
        let w = two(10, false);
        let stage = |f: &dyn Fn(usize) -> Access| -> Vec<Access> { (0..3).map(f).collect() };
        let reads_b = stage(&|p| {
            let mine = super::super::part_range(10, p, 3);
            Access::new().read(w.b, ..).write(w.b, mine)
        });
        let e = check_stage(1, "copy", &reads_b).unwrap_err();
        assert!(
            e.message.contains("reads b[0..10]") && e.message.contains("writes b["),
            "{}",
            e.message
        );
        let outside = stage(&|_| Access::new().read(w.a, 5..11));
        assert_eq!(
            check_stage(0, "fill", &outside).unwrap_err().message,
            "stage 0 (fill): part 0 reads a[5..11] but a has 10 elements"
        );
        // Disjoint writes, shared reads and empty ranges pass.
        let fine = stage(&|p| {
            let mine = super::super::part_range(2, p, 3);
            Access::new()
                .read(w.a, ..)
                .update(w.b, mine.clone())
                .scratch(w.a, 0..0)
        });
        check_stage(0, "x", &fine).unwrap();
    }

    #[test]
    fn writes_are_checked_against_every_other_parts_writes() {
        let w = two(100, false);
        // Part 0 writes far ahead; part 2's write overlaps it although part 1's lies between.
        let accesses = vec![
            Access::new().write(w.a, 0..90),
            Access::new().write(w.a, 90..95),
            Access::new().write(w.a, 10..20),
        ];
        assert!(check_stage(0, "x", &accesses).is_err());
        let accesses = vec![
            Access::new().write(w.a, 0..10).write(w.a, 5..20),
            Access::new().write(w.a, 20..30),
            Access::new().write(w.a, 30..40).update(w.a, 30..35),
        ];
        check_stage(0, "x", &accesses).unwrap();
    }

    #[test]
    fn a_view_hands_out_only_what_was_declared_and_never_twice_as_mut() {
        let w = two(10, false);
        let region = SharedRegion::new(w.shared_bytes()).unwrap();
        let d = Decomposition::check(&w, 2).unwrap();
        // SAFETY: one view at a time, single-threaded test.
        let v = unsafe { d.view(region.mem(), 1, 1) };
        assert_eq!(v.read(w.a).len(), 10);
        assert_eq!(v.write(w.b).len(), 5);
        assert_eq!(v.read_at(w.a, 2..4).len(), 2);
        let panics = |f: &dyn Fn()| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .err()
                .and_then(|p| p.downcast_ref::<String>().cloned())
                .expect("a panic")
        };
        assert!(panics(&|| {
            let _ = v.write(w.b);
        })
        .contains("b[5..10] is already handed out as &mut"));
        assert!(panics(&|| {
            let _ = v.write(w.a);
        })
        .contains("did not declare that it writes a"));
        assert!(panics(&|| {
            let _ = v.read_at(w.b, 0..2);
        })
        .contains("did not declare that it reads b[0..2]"));
        drop(v);
        // SAFETY: as above.
        let whole = unsafe { View::whole(region.mem()) };
        let a = whole.write(w.a);
        assert!(panics(&|| {
            let _ = whole.read(w.a);
        })
        .contains("already handed out as &mut"));
        assert_eq!(whole.read(w.b).len(), 10);
        assert!(panics(&|| whole.run_parts(&w, 2)).contains("before anything is taken"));
        a[0] = 1;
    }

    #[test]
    fn part_data_follows_the_declarations() {
        let w = two(10, false);
        let d = Access::new()
            .read(w.a, 0..2)
            .update(w.b, 1..2)
            .write(w.a, 4..5)
            .scratch(w.a, 6..8)
            .part_data();
        assert_eq!(d.reads, vec![0..16, 4100..4104]);
        assert_eq!(d.writes, vec![4100..4104, 32..40]);
        assert!(Access::new().exchanging().part_data().exchanges);
    }
}
