//! Resource limits, each by the first mechanism that can have it: a cgroup
//! v2 controller, else a cgroup v1 controller (a hybrid machine, in
//! practice for root; see [`super::cgroup`]), else its rlimit (only when the
//! user allows it, and said on stderr), else a refusal: never silently
//! nothing.

use nix::sys::resource::{Resource, setrlimit};

use super::cgroup::{CgroupError, Cgroups, Request, Setting};
use super::{Caller, CpuMax, LimitOptions, SetupError, failed};

/// The limits asked for.
#[derive(Debug, Default)]
pub struct Limits {
    memory: Option<u64>,
    pids: Option<u64>,
    cpu: Option<CpuMax>,
    /// `--limits-fallback=rlimit`.
    fallback: bool,
    /// The `--rlimit-*` options.
    rlimits: Vec<Rlimit>,
    verbose: bool,
}

/// One rlimit, soft and hard, with the option that asked for it.
#[derive(Clone, Copy, Debug)]
struct Rlimit {
    option: &'static str,
    resource: Resource,
    value: u64,
}

impl Rlimit {
    fn name(&self) -> &'static str {
        rlimit_name(self.resource)
    }
}

/// A limit a cgroup sets, and what may replace it.
struct CgroupLimit {
    option: &'static str,
    /// The controller and its files.
    request: Request,
    /// The rlimit that may replace it.
    fallback: Result<Resource, &'static str>,
    value: u64,
}

impl Limits {
    /// The limits `options` ask for.
    pub fn new(options: &LimitOptions, verbose: bool) -> Limits {
        let rlimits = [
            ("--rlimit-as", Resource::RLIMIT_AS, options.rlimit_as),
            ("--rlimit-nproc", Resource::RLIMIT_NPROC, options.rlimit_nproc),
            ("--rlimit-nofile", Resource::RLIMIT_NOFILE, options.rlimit_nofile),
            ("--rlimit-cpu", Resource::RLIMIT_CPU, options.rlimit_cpu),
        ];
        Limits {
            memory: options.memory_max,
            pids: options.pids_max,
            cpu: options.cpu_max,
            fallback: options.limits_fallback.is_some(),
            rlimits: rlimits
                .into_iter()
                .filter_map(|(option, resource, value)| Some(Rlimit { option, resource, value: value? }))
                .collect(),
            verbose,
        }
    }

    /// Whether no limit is asked for.
    pub fn is_empty(&self) -> bool {
        !self.wants_cgroup() && self.rlimits.is_empty()
    }

    /// Whether a cgroup limit is asked for.
    pub fn wants_cgroup(&self) -> bool {
        self.memory.is_some() || self.pids.is_some() || self.cpu.is_some()
    }

    fn cgroup_limits(&self) -> Vec<CgroupLimit> {
        let mut wanted = Vec::new();
        if let Some(bytes) = self.memory {
            // Were swap not limited too, a program over the limit would be swapped out, not stopped.
            let swap = "swap is not limited";
            let request = Request {
                controller: "memory",
                v2: vec![Setting::required("memory.max", bytes), Setting::optional("memory.swap.max", 0, swap)],
                // memsw is memory plus swap, and may not be below the memory limit: written second.
                v1: vec![
                    Setting::required("memory.limit_in_bytes", bytes),
                    Setting::optional("memory.memsw.limit_in_bytes", bytes, swap),
                ],
            };
            let fallback = Ok(Resource::RLIMIT_AS);
            wanted.push(CgroupLimit { option: "--memory-max", request, fallback, value: bytes });
        }
        if let Some(count) = self.pids {
            let pids_max = || vec![Setting::required("pids.max", count)];
            let request = Request { controller: "pids", v2: pids_max(), v1: pids_max() };
            let fallback = Ok(Resource::RLIMIT_NPROC);
            wanted.push(CgroupLimit { option: "--pids-max", request, fallback, value: count });
        }
        if let Some(cpu) = self.cpu {
            let request = Request {
                controller: "cpu",
                v2: vec![Setting::required("cpu.max", cpu)],
                // The period first: the quota is checked against it.
                v1: vec![
                    Setting::required("cpu.cfs_period_us", cpu.period),
                    Setting::required("cpu.cfs_quota_us", cpu.quota),
                ],
            };
            let fallback = Err("RLIMIT_CPU limits CPU seconds in all, not a share of time: give --rlimit-cpu for that");
            wanted.push(CgroupLimit { option: "--cpu-max", request, fallback, value: cpu.quota });
        }
        wanted
    }

    /// Sets up what needs the caller's credentials, before any namespace:
    /// the cgroups with their limits, and for each limit no cgroup can have
    /// the choice of its rlimit instead (reported on stderr), or a refusal.
    pub fn establish(&self, caller: Caller) -> Result<Established, SetupError> {
        let ignored_nproc = self.rlimits.iter().find(|rlimit| rlimit.resource == Resource::RLIMIT_NPROC);
        if let Some(rlimit) = ignored_nproc.filter(|_| caller.ignores_nproc()) {
            return Err(SetupError::Limit { option: rlimit.option, reason: NPROC_IGNORED.to_owned() });
        }
        let mut established = Established { cgroups: Cgroups::default(), rlimits: self.rlimits.clone() };
        let wanted = self.cgroup_limits();
        if wanted.is_empty() {
            return Ok(established);
        }
        let requests: Vec<&Request> = wanted.iter().map(|limit| &limit.request).collect();
        let (cgroups, unplaced) = Cgroups::create(&requests);
        if !unplaced.is_empty() {
            let unplaced: Vec<(&CgroupLimit, CgroupError)> =
                unplaced.into_iter().map(|(index, error)| (&wanted[index], error)).collect();
            match self.fall_back(&unplaced, caller) {
                Ok(rlimits) => established.rlimits.extend(rlimits),
                Err(refusal) => {
                    cgroups.remove();
                    return Err(refusal);
                }
            }
        }
        if self.verbose {
            cgroups.report().iter().for_each(|line| eprintln!("sandboxify: {line}"));
        }
        established.cgroups = cgroups;
        Ok(established)
    }

    /// The rlimits that replace the limits no cgroup can have (each with
    /// why not), if the user allows it and each has one that works for
    /// `caller`; reported on stderr in one line.
    fn fall_back(&self, unplaced: &[(&CgroupLimit, CgroupError)], caller: Caller) -> Result<Vec<Rlimit>, SetupError> {
        let mut rlimits = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        for (limit, error) in unplaced {
            let option = limit.option;
            let refuse = |why: String| SetupError::Limit {
                option,
                reason: format!("no cgroup can limit it here: {error}; {why}"),
            };
            let resource =
                limit.fallback.map_err(|why_not| refuse(format!("and no rlimit replaces it ({why_not})")))?;
            if !self.fallback {
                return Err(refuse(format!("--limits-fallback=rlimit would use {} instead", rlimit_name(resource))));
            }
            if resource == Resource::RLIMIT_NPROC && caller.ignores_nproc() {
                return Err(refuse(format!("and as a fallback {NPROC_IGNORED}")));
            }
            rlimits.push(Rlimit { option, resource, value: limit.value });
            let reason = error.to_string();
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }
        let used: Vec<String> = rlimits
            .iter()
            .map(|rlimit| {
                format!("{} as {}={} ({})", rlimit.option, rlimit.name(), rlimit.value, weaker(rlimit.resource))
            })
            .collect();
        eprintln!(
            "sandboxify: --limits-fallback=rlimit: no cgroup can limit here ({}): {}",
            reasons.join("; "),
            used.join(", ")
        );
        Ok(rlimits)
    }
}

/// What a fallback rlimit leaves out of what its cgroup limit covers, said
/// where the fallback is chosen.
fn weaker(resource: Resource) -> &'static str {
    match resource {
        Resource::RLIMIT_AS => {
            "per process, not for the processes together; and memfd or shared memory no longer mapped is not counted"
        }
        _ => "counts all the processes of the user, not only the sandbox's, unless it has a user namespace of its own",
    }
}

/// Why RLIMIT_NPROC is refused for some callers.
const NPROC_IGNORED: &str = "the kernel does not enforce RLIMIT_NPROC for root or for holders of CAP_SYS_ADMIN or \
                             CAP_SYS_RESOURCE, so it would limit nothing";

fn rlimit_name(resource: Resource) -> &'static str {
    match resource {
        Resource::RLIMIT_AS => "RLIMIT_AS",
        Resource::RLIMIT_NPROC => "RLIMIT_NPROC",
        Resource::RLIMIT_NOFILE => "RLIMIT_NOFILE",
        _ => "RLIMIT_CPU",
    }
}

/// The limits once set up.
#[derive(Debug, Default)]
pub struct Established {
    cgroups: Cgroups,
    rlimits: Vec<Rlimit>,
}

impl Established {
    /// Whether PROGRAM goes into cgroups (which someone must remove).
    pub fn has_cgroups(&self) -> bool {
        !self.cgroups.is_empty()
    }

    /// The cgroups, for the supervisor.
    pub fn take_cgroups(&mut self) -> Cgroups {
        std::mem::take(&mut self.cgroups)
    }

    /// Sets the rlimits on this process, which PROGRAM inherits; last,
    /// since they would limit sandboxify's own setup too. In a user
    /// namespace RLIMIT_NPROC counts only the processes of the namespace.
    pub fn apply_rlimits(&self) -> Result<(), SetupError> {
        for rlimit in &self.rlimits {
            setrlimit(rlimit.resource, rlimit.value, rlimit.value).map_err(failed(format!(
                "{}: cannot set {} to {}",
                rlimit.option,
                rlimit.name(),
                rlimit.value
            )))?;
        }
        Ok(())
    }
}
