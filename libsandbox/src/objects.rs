//! What the library reads from the dynamic sections of the objects ld.so
//! has mapped: a policy recorded in the main program by `patchelf-helper`,
//! and which objects ask to be initialised first.
//!
//! Every address is checked to lie inside one of the object's loaded
//! segments before it is read: the file may have been patched by anyone.

use alloc::string::String;
use core::ffi::{CStr, c_int, c_void};
use core::mem::size_of;
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

use sandbox_policy::text::attached::DT_SANDBOX_POLICY;

/// `Elf64_Dyn` tags used here.
const DT_NULL: i64 = 0;
const DT_STRTAB: i64 = 5;
const DT_FLAGS_1: i64 = 0x6fff_fffb;
/// In `DT_FLAGS_1`: ld.so runs this object's initialisation code before any other's.
const DF_1_INITFIRST: u64 = 0x20;

/// A loaded object's segments, for checking every address before reading
/// it: its program headers, read in place (nothing is allocated, so that a
/// process with no policy maps no memory for the early phase).
pub struct Image<'a> {
    bias: usize,
    headers: &'a [libc::Elf64_Phdr],
    dynamic: Option<usize>,
}

impl Image<'_> {
    /// The image `dl_iterate_phdr` describes with `info`, whose program
    /// headers ld.so keeps mapped while the object is loaded.
    ///
    /// # Safety
    ///
    /// The image must not be used after the object is unloaded (the main
    /// program never is), nor, for another object, after the callback.
    unsafe fn new(info: &libc::dl_phdr_info) -> Image<'static> {
        let bias = info.dlpi_addr as usize;
        // SAFETY: dlpi_phdr has dlpi_phnum entries, mapped as the caller says.
        let headers = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
        let dynamic = headers.iter().find(|header| header.p_type == libc::PT_DYNAMIC);
        Image { bias, headers, dynamic: dynamic.map(|header| bias + header.p_vaddr as usize) }
    }

    fn contains(&self, address: usize, len: usize) -> bool {
        let end = address.checked_add(len);
        self.headers.iter().filter(|header| header.p_type == libc::PT_LOAD).any(|header| {
            let start = self.bias + header.p_vaddr as usize;
            start <= address && end.is_some_and(|end| end <= start + header.p_memsz as usize)
        })
    }

    /// A dynamic-section address: glibc stores them relocated, but be ready
    /// for a loader that left them as file addresses.
    fn address(&self, value: u64) -> usize {
        let value = value as usize;
        if value >= self.bias { value } else { value + self.bias }
    }

    /// Reads a `T` at `address` if it lies inside the image.
    fn read<T: Copy>(&self, address: usize) -> Option<T> {
        // SAFETY: the range lies inside a PT_LOAD segment of the object, mapped
        // for the life of the process (the main program) or while
        // dl_iterate_phdr reports it (it holds ld.so's lock); read_unaligned
        // makes no alignment assumption.
        self.contains(address, size_of::<T>()).then(|| unsafe { (address as *const T).read_unaligned() })
    }
}

unsafe extern "C" fn first_object(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid info and our own `data`.
    let (info, image) = unsafe { (&*info, &mut *(data as *mut Option<Image>)) };
    // SAFETY: the main program stays loaded for the life of the process.
    *image = Some(unsafe { Image::new(info) });
    1 // The first object is the main program: stop there.
}

unsafe extern "C" fn initialised_first(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid info and our own `data`.
    let (info, found) = unsafe { (&*info, &mut *(data as *mut Option<String>)) };
    // SAFETY: used within this callback only, while ld.so holds the object.
    let image = unsafe { Image::new(info) };
    let this_library = other_object_initialised_first as fn() -> Option<String> as usize;
    let flags = image.dynamic_entries().find(|&(tag, _)| tag == DT_FLAGS_1).map_or(0, |(_, value)| value);
    if flags & DF_1_INITFIRST == 0 || image.contains(this_library, 1) {
        return 0;
    }
    // SAFETY: dlpi_name is NULL or the NUL-terminated name ld.so keeps for the object.
    let name = (!info.dlpi_name.is_null()).then(|| unsafe { CStr::from_ptr(info.dlpi_name) }.to_string_lossy());
    *found = Some(String::from(name.as_deref().filter(|name| !name.is_empty()).unwrap_or("the program")));
    1
}

/// The name of a loaded object other than this library that asks ld.so to
/// run its initialisation code first (`DF_1_INITFIRST`): if there is one,
/// this library's constructor may not run before every other's.
pub fn other_object_initialised_first() -> Option<String> {
    let mut found: Option<String> = None;
    // SAFETY: the callback only fills `found`, which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(initialised_first), &mut found as *mut Option<String> as *mut c_void) };
    found
}

/// What [`attached_policy`] found: not looked yet, nothing, or a string.
static ATTACHED_LOOKED: AtomicU8 = AtomicU8::new(NOT_LOOKED);
const NOT_LOOKED: u8 = 0;
const LOOKED: u8 = 1;
static ATTACHED_START: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static ATTACHED_LEN: AtomicUsize = AtomicUsize::new(0);

/// The policy `patchelf-helper --policy` recorded in the main program
/// (`DT_SANDBOX_POLICY`), looked up once: the early phase and the
/// constructor both ask, and the program's mapping does not change.
pub fn attached_policy() -> Option<&'static [u8]> {
    if ATTACHED_LOOKED.load(Ordering::Acquire) == NOT_LOOKED {
        let found = Image::main_program().and_then(|image| image.dynamic_string(DT_SANDBOX_POLICY));
        let (start, len) = found.map_or((core::ptr::null_mut(), 0), |text| (text.as_ptr().cast_mut(), text.len()));
        ATTACHED_START.store(start, Ordering::Relaxed);
        ATTACHED_LEN.store(len, Ordering::Relaxed);
        ATTACHED_LOOKED.store(LOOKED, Ordering::Release);
    }
    let start = ATTACHED_START.load(Ordering::Relaxed);
    // SAFETY: a string of the main program's, mapped for the life of the
    // process, stored whole before the Release above made it visible.
    (!start.is_null()).then(|| unsafe { core::slice::from_raw_parts(start, ATTACHED_LEN.load(Ordering::Relaxed)) })
}

impl Image<'static> {
    /// The main program: the first object `dl_iterate_phdr` reports.
    fn main_program() -> Option<Image<'static>> {
        let mut image: Option<Image> = None;
        // SAFETY: the callback only fills `image`, which outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(first_object), &mut image as *mut Option<Image> as *mut c_void) };
        image
    }

    /// The string a dynamic entry with `tag` points to in DT_STRTAB, if the
    /// program has such an entry.
    fn dynamic_string(&self, tag: u64) -> Option<&'static [u8]> {
        let strtab = self.dynamic_entries().find(|&(t, _)| t == DT_STRTAB).map(|(_, value)| self.address(value))?;
        let offset = self.dynamic_entries().find(|&(t, _)| t as u64 == tag).map(|(_, value)| value as usize)?;
        let start = strtab.checked_add(offset)?;
        let mut len = 0;
        while self.read::<u8>(start + len)? != 0 {
            len += 1;
        }
        // SAFETY: every byte up to the terminator was checked to lie in a
        // segment of the main program, mapped for the life of the process.
        Some(unsafe { core::slice::from_raw_parts(start as *const u8, len) })
    }
}

impl Image<'_> {
    /// The dynamic entries, up to DT_NULL.
    fn dynamic_entries(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        let mut entry = self.dynamic;
        core::iter::from_fn(move || {
            let at = entry?;
            let (tag, value): (i64, u64) = self.read(at)?;
            entry = (tag != DT_NULL).then_some(at + 16);
            (tag != DT_NULL).then_some((tag, value))
        })
    }
}
