//! The daemon's memory between jobs.
//!
//! A job (collect, match, digests) grows the heap, opens store connections and runs most
//! of the program's code. Between jobs, hours apart, the daemon hands all of that back:
//! freed heap with `malloc_trim`, idle connections through the pool's idle timeout, and
//! the program's own code pages through `madvise`. The outbox's retry tick, every minute,
//! runs at rest and is kept small: it maps only the code pages it runs.

use std::time::Duration;

/// How long after a job the daemon trims again: the store's pool closes a connection
/// idle for [`crate::store::IDLE_CONNECTION`] at its next reaper round (every
/// `IDLE_CONNECTION`), so by then all of the job's connections are closed.
const LATE_TRIM_AFTER: Duration = Duration::from_secs(2 * crate::store::IDLE_CONNECTION.as_secs() + 5);

/// Once the job's idle store connections have closed: their memory and the program pages
/// touched since go back to the system.
pub(super) async fn trim_at_rest() {
    tokio::time::sleep(LATE_TRIM_AFTER).await;
    return_freed_memory();
    release_code_pages();
}

/// Hands the memory a job freed back to the system (and the patterns' compiled programs
/// with their matching caches, which a collect or match job grew; the next such job
/// compiles them again). glibc keeps freed blocks (a pass's pages, calls and
/// digests) in its arenas for reuse, so without this the daemon would sit between jobs at
/// the peak of its last job.
pub(super) fn return_freed_memory() {
    crate::model::pattern::release_compiled();
    crate::app::return_freed_memory();
}

/// Before a job: the program's code is read ahead again in the kernel's usual windows, so
/// a job that runs most of it faults it in a few large reads.
pub(super) fn prepare_code_pages() {
    #[cfg(target_os = "linux")]
    advise_own_code(&[(libc::MADV_NORMAL, "normal read-ahead")]);
}

/// After a job: asks the kernel to reclaim the resident pages of the program's own code
/// and read-only data, and to map only the pages that are run until the next job.
///
/// A job touches most of the 30 MB binary, and those clean file pages would stay resident
/// although the next job is hours away: without this they were two thirds of the daemon's
/// memory at rest. Reclaimed pages are read back from the file as they are run.
/// `MADV_RANDOM` matters for the retry tick at rest: by default a fault reads ahead and
/// maps up to 64 KB around each page, so one tick made 9 MB of code resident again.
/// Pages another process maps too (shared libraries) are left alone by the kernel. Best
/// effort: a kernel without `MADV_PAGEOUT` (before 5.4) leaves the pages where they are.
pub(super) fn release_code_pages() {
    #[cfg(target_os = "linux")]
    advise_own_code(&[(libc::MADV_RANDOM, "random access"), (libc::MADV_PAGEOUT, "page out")]);
}

/// Gives each of `advices`, in order, to every read-only mapping of the program's own
/// file; stops (with a debug line) at the first the kernel refuses.
#[cfg(target_os = "linux")]
fn advise_own_code(advices: &[(libc::c_int, &str)]) {
    let (Ok(exe), Ok(maps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/maps"),
    ) else {
        return;
    };
    let ranges = read_only_mappings_of(&maps, &exe.to_string_lossy());
    for &(advice, what) in advices {
        if !advise(&ranges, advice, what) {
            return;
        }
    }
}

/// Gives `advice` to each of `ranges`; `false` when the kernel refused it.
#[cfg(target_os = "linux")]
fn advise(ranges: &[(usize, usize)], advice: libc::c_int, what: &str) -> bool {
    let mut advised = 0usize;
    for &(start, end) in ranges {
        // SAFETY: the range is a whole mapping of this process, read-only and backed by its
        // executable's file. These advices change only which pages are resident and how
        // they are read back from that file, never memory content.
        let rc = unsafe { libc::madvise(start as *mut libc::c_void, end - start, advice) };
        if rc != 0 {
            tracing::debug!(advice = what, error = %std::io::Error::last_os_error(), "code pages: advice refused");
            return false;
        }
        advised += end - start;
    }
    tracing::debug!(advice = what, mapped_kib = advised / 1024, "code pages advised");
    true
}

/// The address ranges of `/proc/self/maps` lines that map `path` without write access:
/// the program's code and read-only data. (Its writable data, copied on write, is
/// anonymous memory and left alone.)
#[cfg(any(target_os = "linux", test))]
fn read_only_mappings_of(maps: &str, path: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(6, ' ');
            let range = fields.next()?;
            let perms = fields.next()?;
            let pathname = fields.nth(3)?.trim_start();
            if pathname != path || perms.as_bytes().get(1) != Some(&b'-') {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_pages_are_the_read_only_mappings_of_the_program_itself() {
        let maps = "\
55d0c0a00000-55d0c0b00000 r--p 00000000 fd:01 1234   /opt/foerderradar/bin/foerderradar (deleted)
55d0c0b00000-55d0c1f00000 r-xp 00100000 fd:01 1234   /opt/foerderradar/bin/foerderradar (deleted)
55d0c1f00000-55d0c2000000 rw-p 01500000 fd:01 1234   /opt/foerderradar/bin/foerderradar (deleted)
55d0c2000000-55d0c2100000 rw-p 00000000 00:00 0
7f1e00000000-7f1e00200000 r-xp 00000000 fd:01 99     /usr/lib/x86_64-linux-gnu/libc.so.6
7ffd10000000-7ffd10021000 rw-p 00000000 00:00 0      [stack]";
        let ranges = super::read_only_mappings_of(maps, "/opt/foerderradar/bin/foerderradar (deleted)");
        assert_eq!(
            ranges,
            vec![(0x55d0c0a00000, 0x55d0c0b00000), (0x55d0c0b00000, 0x55d0c1f00000)]
        );
        assert!(super::read_only_mappings_of(maps, "/opt/foerderradar/bin/foerderradar").is_empty());
    }
}
