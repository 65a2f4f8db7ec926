//! Finding PROGRAM the way env(1) does, and reporting 126/127 before any
//! filter is installed; what the kernel will find in it.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::Elf;
use goblin::elf::header::{EI_CLASS, ELFCLASS64, EM_X86_64};
use goblin::elf::program_header::{PT_INTERP, ProgramHeader};

use crate::failure::Failure;

/// PATH when the environment has none (glibc's execvp default).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// Resolves `name`: as a path if it contains `/`, else through `path_variable`.
pub fn resolve(name: &OsStr, path_variable: Option<&OsStr>) -> Result<PathBuf, Failure> {
    let display = name.to_string_lossy().into_owned();
    if name.is_empty() {
        return Err(Failure::NotFound { program: display });
    }
    if name.as_bytes().contains(&b'/') {
        let path = PathBuf::from(name);
        return check(&path).map(|()| path).map_err(|problem| problem.into_failure(display));
    }
    let search = path_variable.map(OsStr::as_bytes).unwrap_or(DEFAULT_PATH.as_bytes());
    let mut first_problem = None;
    for directory in search.split(|&b| b == b':') {
        // An empty entry means the current directory, as for execvp.
        let directory = if directory.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(directory)) };
        let candidate = directory.join(name);
        match check(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(Problem::Missing) => {}
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(first_problem.unwrap_or(Problem::Missing).into_failure(display))
}

enum Problem {
    Missing,
    NotRunnable(String),
}

impl Problem {
    fn into_failure(self, program: String) -> Failure {
        match self {
            Problem::Missing => Failure::NotFound { program },
            Problem::NotRunnable(reason) => Failure::NotExecutable { program, reason },
        }
    }
}

fn check(path: &Path) -> Result<(), Problem> {
    let metadata = match path.metadata() {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(Problem::Missing),
        Err(error) => return Err(Problem::NotRunnable(error.to_string())),
    };
    if metadata.is_dir() {
        return Err(Problem::NotRunnable("is a directory".to_owned()));
    }
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| Problem::Missing)?;
    // SAFETY: access(2) on a NUL-terminated path.
    let runnable = unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } == 0;
    if !runnable || metadata.permissions().mode() & 0o111 == 0 {
        return Err(Problem::NotRunnable("permission denied".to_owned()));
    }
    Ok(())
}

/// What the kernel finds in a file it is asked to exec.
#[derive(Debug, PartialEq, Eq)]
pub enum Executable {
    /// `#!INTERPRETER [ARG]`: the kernel runs the interpreter on it.
    Script {
        /// The interpreter's path, if the line names one.
        interpreter: Option<PathBuf>,
    },
    /// An ELF program.
    Elf {
        /// Whether it is a 64-bit x86_64 one.
        x86_64: bool,
        /// Its PT_INTERP (ld.so) if dynamically linked.
        interpreter: Option<PathBuf>,
    },
}

/// Reads what kind of executable `path` is; `Err` says why it is neither
/// a script nor an ELF file.
pub fn inspect(path: &Path) -> Result<Executable, String> {
    let mut head = Vec::new();
    File::open(path).and_then(|file| file.take(64 * 1024).read_to_end(&mut head)).map_err(|error| error.to_string())?;
    if let Some(line) = head.strip_prefix(b"#!") {
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let interpreter = line.split(|b| b.is_ascii_whitespace()).find(|word| !word.is_empty());
        return Ok(Executable::Script { interpreter: interpreter.map(|word| PathBuf::from(OsStr::from_bytes(word))) });
    }
    let header = Elf::parse_header(&head).map_err(|_| "not an ELF program or script".to_owned())?;
    let is_64 = header.e_ident[EI_CLASS] == ELFCLASS64;
    let table_end = header.e_phoff as usize + usize::from(header.e_phnum) * usize::from(header.e_phentsize);
    if table_end > head.len() {
        head = std::fs::read(path).map_err(|error| error.to_string())?;
    }
    let container = if is_64 { Container::Big } else { Container::Little };
    let program_headers = ProgramHeader::parse(
        &head,
        header.e_phoff as usize,
        header.e_phnum.into(),
        Ctx::new(container, Endian::Little),
    )
    .map_err(|error| format!("unreadable program headers ({error})"))?;
    let interpreter = match program_headers.iter().find(|header| header.p_type == PT_INTERP) {
        None => None,
        Some(interp) => {
            let range = interp.file_range();
            if range.end > head.len() {
                head = std::fs::read(path).map_err(|error| error.to_string())?;
            }
            let bytes = head.get(range).ok_or("PT_INTERP lies outside the file")?;
            let name = bytes.split(|&b| b == 0).next().unwrap_or_default();
            Some(PathBuf::from(OsStr::from_bytes(name)))
        }
    };
    Ok(Executable::Elf { x86_64: is_64 && header.e_machine == EM_X86_64, interpreter })
}

/// `DT_AUDIT`, `DT_DEPAUDIT`: audit libraries a program names for ld.so.
const AUDIT_TAGS: [u64; 2] = [0x6fff_fefc, 0x6fff_fefb];

/// Whether the 64-bit ELF program `path` names audit libraries of its own
/// (`DT_AUDIT`, `DT_DEPAUDIT`), which ld.so loads before any preload and
/// which may refuse one (`la_objsearch`). Reads the dynamic segment alone.
pub fn names_audit_libraries(path: &Path) -> Result<bool, String> {
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path).map_err(|error| error.to_string())?;
    let mut head = vec![0u8; 64];
    file.read_exact(&mut head).map_err(|error| error.to_string())?;
    let header = Elf::parse_header(&head).map_err(|_| "not an ELF program".to_owned())?;
    // Sizes are checked against the file before anything is allocated: a
    // hostile file may claim gigabytes.
    let length = file.metadata().map_err(|error| error.to_string())?.len();
    let within = |offset: u64, size: u64, what: &str| match offset.checked_add(size) {
        Some(end) if end <= length => usize::try_from(size).map_err(|_| format!("{what} too large")),
        _ => Err(format!("{what} past the end of the file")),
    };
    let table_size = u64::from(header.e_phnum) * u64::from(header.e_phentsize);
    let mut table = vec![0u8; within(header.e_phoff, table_size, "program headers")?];
    file.seek(SeekFrom::Start(header.e_phoff)).and_then(|_| file.read_exact(&mut table)).map_err(|e| e.to_string())?;
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let headers = ProgramHeader::parse(&table, 0, header.e_phnum.into(), ctx)
        .map_err(|error| format!("unreadable program headers ({error})"))?;
    let Some(dynamic) = headers.iter().find(|header| header.p_type == goblin::elf::program_header::PT_DYNAMIC) else {
        return Ok(false);
    };
    let mut entries = vec![0u8; within(dynamic.p_offset, dynamic.p_filesz, "dynamic segment")?];
    file.seek(SeekFrom::Start(dynamic.p_offset))
        .and_then(|_| file.read_exact(&mut entries))
        .map_err(|e| e.to_string())?;
    // Each entry is a tag and a value, 8 bytes each, little-endian.
    Ok(entries
        .chunks_exact(16)
        .map(|entry| u64::from_le_bytes(entry[..8].try_into().expect("8 bytes")))
        .any(|tag| AUDIT_TAGS.contains(&tag)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of /bin/true with its dynamic segment's size, or its count
    /// of program headers, made huge: refused with a reason, nothing
    /// allocated for it.
    #[test]
    fn hostile_sizes_are_refused_before_anything_is_allocated() {
        let original = std::fs::read("/bin/true").unwrap();
        let elf = Elf::parse(&original).unwrap();
        let dynamic = elf.program_headers.iter().position(|header| header.p_type == 2).expect("a dynamic program");
        let phoff = elf.header.e_phoff as usize;
        let entsize = usize::from(elf.header.e_phentsize);
        let dir = std::env::temp_dir().join(format!("sandboxify-hostile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // p_filesz of the PT_DYNAMIC header (offset 32 in an Elf64_Phdr).
        let mut huge_dynamic = original.clone();
        let at = phoff + dynamic * entsize + 32;
        huge_dynamic[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        // e_phnum (offset 56 in the Elf64_Ehdr) and e_phentsize (54) at their largest.
        let mut huge_table = original.clone();
        huge_table[54..58].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        for (name, bytes, expected) in [
            ("dynamic", huge_dynamic, "dynamic segment past the end of the file"),
            ("table", huge_table, "program headers past the end of the file"),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(names_audit_libraries(&path), Err(expected.to_owned()), "{name}");
        }
        assert_eq!(names_audit_libraries(Path::new("/bin/true")), Ok(false));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
