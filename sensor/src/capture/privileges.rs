//! Dropping root once the capture is open (`callguard live --user NAME`).
//!
//! Opening an `AF_PACKET` socket needs `CAP_NET_RAW`; reading the ring it maps does not. So the sensor opens
//! its sockets, its output file and its metrics listener as root, then calls [`drop_privileges`], and parses
//! hostile traffic for months as an unprivileged user. Descriptors and mappings opened before stay usable.
//!
//! [`drop_privileges`] does, in this order:
//! 1. resolves the user with `getpwnam_r` (a name; failing that a numeric uid through `getpwuid_r`), the
//!    buffer sized from `sysconf(_SC_GETPW_R_SIZE_MAX)` and doubled on `ERANGE`;
//! 2. `setgroups` to the user's groups as `getgrouplist` lists them (the same set a login or systemd's
//!    `User=` gives it; root's supplementary groups are never kept);
//! 3. `setgid`, then `setuid` (the group first: after `setuid` it could no longer be changed). As root they set
//!    the real, effective and saved ids together; glibc applies them to every thread of the process;
//! 4. `prctl(PR_SET_NO_NEW_PRIVS)`: no `execve` can give privileges back through a set-user-ID binary or file
//!    capabilities. The sensor never executes anything, so it costs nothing. The flag is per thread and
//!    inherited by threads started later (capture, dispatch, workers); a metrics server thread started before
//!    the drop does not carry it, and executes nothing either;
//! 5. verifies: `setuid(0)` must fail (and `setgid(0)` for a user whose group is not 0), `getresuid` and
//!    `getresgid` must show the user's ids in all three slots, and `capget` must show no effective or
//!    permitted capability. Any failure is an error, and the caller must stop.
//!
//! When the process already runs as the user (real, effective and saved uid all equal to it), nothing is
//! changed: a no-op success, [`Dropped::changed`] false. Switching to another user needs root (or
//! `CAP_SETUID` and `CAP_SETGID`); without them the first call fails with `EPERM`, reported as
//! [`PrivilegeError::NotPermitted`].
//!
//! Every error names the user and the call that failed. This is the second file of the project with
//! `unsafe` code: the libc calls, each with its `SAFETY:` comment.
#![expect(
    unsafe_code,
    reason = "user lookup, setgroups/setgid/setuid, prctl and capget are libc calls; DESIGN keeps unsafe \
              in the capture module, and this file is the only other one with it"
)]

use std::ffi::{CStr, CString, c_char, c_int};
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::ptr;

/// Largest buffer tried for one `getpw*_r` lookup; an entry larger than this is an error, not a loop.
const MAX_PW_BUFFER: usize = 1 << 20;

/// Largest group list asked of `getgrouplist` (the kernel's `NGROUPS_MAX`).
const MAX_GROUPS: usize = 65_536;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// The user the process now runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The user's name from the password database.
    pub name: String,
    /// Its uid: now the real, effective and saved uid.
    pub uid: u32,
    /// Its primary gid: now the real, effective and saved gid (unchanged by a no-op).
    pub gid: u32,
    /// The supplementary groups set (empty after a no-op, which leaves them as they were).
    pub groups: Vec<u32>,
    /// False when the process already ran as this user and nothing was changed.
    pub changed: bool,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "running as {} (uid {}, gid {})",
            self.name, self.uid, self.gid
        )
    }
}

/// Why the process could not switch to the user. Every message names the user; the caller must stop.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    /// No such user name or uid in the password database.
    #[error("--user {user}: no such user (neither a name nor a uid in the password database)")]
    UnknownUser {
        /// The user as given.
        user: String,
    },
    /// The name cannot be a user name (empty, or containing NUL).
    #[error("--user {user:?}: not a valid user name")]
    InvalidName {
        /// The user as given.
        user: String,
    },
    /// A libc call failed.
    #[error("--user {user}: {call} failed: {source}")]
    Call {
        /// The user as given.
        user: String,
        /// The call that failed, with its argument.
        call: String,
        /// The OS error.
        source: io::Error,
    },
    /// A call was refused (`EPERM`) because the process is not root.
    #[error(
        "--user {user}: {call} was refused: switching to another user needs root (this process runs as uid {euid})"
    )]
    NotPermitted {
        /// The user as given.
        user: String,
        /// The call that was refused.
        call: String,
        /// The process's effective uid.
        euid: u32,
    },
    /// After the switch, the process still holds or could regain a privilege.
    #[error("--user {user}: privileges were not dropped: {what}")]
    NotDropped {
        /// The user as given.
        user: String,
        /// What the verification found.
        what: String,
    },
}

/// A password database entry: the parts needed to switch to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    /// The user's name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
}

/// Real, effective and saved ids of the calling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    /// Real, effective, saved uid.
    pub uid: [u32; 3],
    /// Real, effective, saved gid.
    pub gid: [u32; 3],
}

/// Switches the whole process to `user` (a name, or a numeric uid), for good: see the module documentation
/// for the steps and checks.
///
/// # Errors
/// [`PrivilegeError::UnknownUser`] when the password database has no such user; [`PrivilegeError::NotPermitted`]
/// when the process is not root and `user` is not the current user; [`PrivilegeError::Call`] when a call
/// fails otherwise; [`PrivilegeError::NotDropped`] when the verification finds a privilege left (after
/// which the process must not go on).
pub fn drop_privileges(user: &str) -> Result<Dropped, PrivilegeError> {
    let call_err = |call: &str, source: io::Error| PrivilegeError::Call {
        user: user.to_owned(),
        call: call.to_owned(),
        source,
    };
    let pw = lookup(user)
        .map_err(|e| call_err("getpwnam_r", e))?
        .ok_or_else(|| {
            if user.is_empty() || user.contains('\0') {
                PrivilegeError::InvalidName {
                    user: user.to_owned(),
                }
            } else {
                PrivilegeError::UnknownUser {
                    user: user.to_owned(),
                }
            }
        })?;
    let before = current_ids().map_err(|e| call_err("getresuid/getresgid", e))?;
    if is_current_user(&before, &pw) {
        return Ok(Dropped {
            name: pw.name,
            uid: pw.uid,
            gid: before.gid[1],
            groups: Vec::new(),
            changed: false,
        });
    }
    let euid = before.uid[1];
    // A refused call from a process that is not root means it lacks the right, not that something broke.
    let fail = |call: String, source: io::Error| {
        if source.raw_os_error() == Some(libc::EPERM) && euid != 0 {
            PrivilegeError::NotPermitted {
                user: user.to_owned(),
                call,
                euid,
            }
        } else {
            PrivilegeError::Call {
                user: user.to_owned(),
                call,
                source,
            }
        }
    };
    let groups = group_list(&pw).map_err(|e| call_err("getgrouplist", e))?;
    set_groups(&groups).map_err(|e| fail(format!("setgroups({groups:?})"), e))?;
    set_gid(pw.gid).map_err(|e| fail(format!("setgid({})", pw.gid), e))?;
    set_uid(pw.uid).map_err(|e| fail(format!("setuid({})", pw.uid), e))?;
    set_no_new_privs().map_err(|e| call_err("prctl(PR_SET_NO_NEW_PRIVS)", e))?;
    verify(&pw).map_err(|what| PrivilegeError::NotDropped {
        user: user.to_owned(),
        what,
    })?;
    Ok(Dropped {
        name: pw.name,
        uid: pw.uid,
        gid: pw.gid,
        groups,
        changed: true,
    })
}

/// Whether the process already runs as `pw`: nothing to change.
fn is_current_user(ids: &Ids, pw: &Passwd) -> bool {
    ids.uid.iter().all(|&u| u == pw.uid)
}

/// Checks that the switch to `pw` holds: no way back to root, the user's ids everywhere, no capability.
fn verify(pw: &Passwd) -> Result<(), String> {
    if pw.uid != 0 && set_uid(0).is_ok() {
        return Err("setuid(0) succeeded after the switch".into());
    }
    if pw.gid != 0 && set_gid(0).is_ok() {
        return Err("setgid(0) succeeded after the switch".into());
    }
    let ids = current_ids().map_err(|e| format!("getresuid/getresgid failed: {e}"))?;
    let want = Ids {
        uid: [pw.uid; 3],
        gid: [pw.gid; 3],
    };
    if ids != want {
        return Err(format!(
            "real/effective/saved uid {:?} and gid {:?}, expected {} and {}",
            ids.uid, ids.gid, pw.uid, pw.gid
        ));
    }
    if pw.uid != 0 {
        let (effective, permitted) = capabilities().map_err(|e| format!("capget failed: {e}"))?;
        if effective != 0 || permitted != 0 {
            return Err(format!(
                "capabilities left: effective {effective:#018x}, permitted {permitted:#018x}"
            ));
        }
    }
    Ok(())
}

/// Looks `user` up in the password database: as a name first, then, if it is a number, as a uid.
/// `Ok(None)` when there is no such entry (or `user` cannot be a name).
///
/// # Errors
/// The lookup itself failed (an unreadable database, an entry larger than 1 MiB).
pub fn lookup(user: &str) -> io::Result<Option<Passwd>> {
    let Ok(name) = CString::new(user) else {
        return Ok(None);
    };
    if user.is_empty() {
        return Ok(None);
    }
    if let Some(pw) = getpw(|pwd, buf, len, result| {
        // SAFETY: `name` is NUL-terminated and outlives the call; `pwd` is a writable `passwd`, `buf` a
        // writable buffer of `len` bytes and `result` a writable pointer, all owned by `getpw` for the call.
        unsafe { libc::getpwnam_r(name.as_ptr(), pwd, buf, len, result) }
    })? {
        return Ok(Some(pw));
    }
    match user.parse::<u32>() {
        Ok(uid) => getpw(|pwd, buf, len, result| {
            // SAFETY: as above; `uid` is a plain integer.
            unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) }
        }),
        Err(_) => Ok(None),
    }
}

/// Runs one `getpw*_r` call, growing the buffer on `ERANGE`, and copies out the entry found.
fn getpw(
    mut call: impl FnMut(*mut libc::passwd, *mut c_char, usize, *mut *mut libc::passwd) -> c_int,
) -> io::Result<Option<Passwd>> {
    // SAFETY: `sysconf` takes a constant and touches no memory.
    let hint = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    let mut len = usize::try_from(hint)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(16_384)
        .min(MAX_PW_BUFFER);
    loop {
        let mut buf: Vec<c_char> = vec![0; len];
        let mut pwd = MaybeUninit::<libc::passwd>::zeroed();
        let mut result: *mut libc::passwd = ptr::null_mut();
        let rc = call(pwd.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == libc::ERANGE && len < MAX_PW_BUFFER {
            len = (len * 2).min(MAX_PW_BUFFER);
            continue;
        }
        // Not found is 0 with a null result; some C libraries say ENOENT or ESRCH instead.
        if result.is_null() && matches!(rc, 0 | libc::ENOENT | libc::ESRCH) {
            return Ok(None);
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Ok(None);
        }
        // SAFETY: a zero return with a non-null `result` means the call filled `pwd` (`result` points at
        // it); its `pw_name` points into `buf`, NUL-terminated, and `buf` is alive until the end of this block.
        let (name, uid, gid) = unsafe {
            let p = pwd.assume_init_ref();
            if p.pw_name.is_null() {
                return Ok(None);
            }
            (
                CStr::from_ptr(p.pw_name).to_string_lossy().into_owned(),
                p.pw_uid,
                p.pw_gid,
            )
        };
        return Ok(Some(Passwd { name, uid, gid }));
    }
}

/// The groups `pw` belongs to, its primary group included, as `getgrouplist` lists them.
fn group_list(pw: &Passwd) -> io::Result<Vec<u32>> {
    let name = CString::new(pw.name.as_str())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "user name contains NUL"))?;
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut n = c_int::try_from(groups.len()).unwrap_or(c_int::MAX);
        // SAFETY: `name` is NUL-terminated and outlives the call; `groups` has room for `n` gids and the
        // function writes at most `n` of them, storing the number it has (or needs) in `n`.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), pw.gid, groups.as_mut_ptr(), &mut n) };
        let needed = usize::try_from(n).unwrap_or(0);
        if rc >= 0 {
            groups.truncate(needed.min(groups.len()));
            return Ok(groups);
        }
        if groups.len() >= MAX_GROUPS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("user {} is in more than {MAX_GROUPS} groups", pw.name),
            ));
        }
        groups.resize(needed.max(groups.len() * 2).min(MAX_GROUPS), 0);
    }
}

/// Turns a `-1`-on-error return into the OS error.
fn check(rc: c_int) -> io::Result<()> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn set_groups(groups: &[u32]) -> io::Result<()> {
    // SAFETY: `groups` is a live slice of `groups.len()` gids that the call only reads.
    check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })
}

fn set_gid(gid: u32) -> io::Result<()> {
    // SAFETY: plain syscall wrapper with an integer argument; no memory is touched.
    check(unsafe { libc::setgid(gid) })
}

fn set_uid(uid: u32) -> io::Result<()> {
    // SAFETY: plain syscall wrapper with an integer argument; no memory is touched.
    check(unsafe { libc::setuid(uid) })
}

fn set_no_new_privs() -> io::Result<()> {
    let on: libc::c_ulong = 1;
    let zero: libc::c_ulong = 0;
    // SAFETY: `PR_SET_NO_NEW_PRIVS` takes four unsigned long arguments (1, then three zeros) and no pointers.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, on, zero, zero, zero) })
}

/// Real, effective and saved uid and gid of the calling thread (`getresuid`, `getresgid`).
///
/// # Errors
/// The OS error of either call (they do not fail with valid pointers).
pub fn current_ids() -> io::Result<Ids> {
    let mut ids = Ids {
        uid: [0; 3],
        gid: [0; 3],
    };
    let [ru, eu, su] = &mut ids.uid;
    // SAFETY: three distinct, writable `uid_t`s that live across the call.
    check(unsafe { libc::getresuid(ru, eu, su) })?;
    let [rg, eg, sg] = &mut ids.gid;
    // SAFETY: three distinct, writable `gid_t`s that live across the call.
    check(unsafe { libc::getresgid(rg, eg, sg) })?;
    Ok(ids)
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

/// `struct __user_cap_data_struct`: one 32-bit word of each set.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The effective and permitted capability sets of the calling thread, as 64-bit masks.
fn capabilities() -> io::Result<(u64, u64)> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: `header` is a valid version-3 header (pid 0: this thread) and `data` the two writable
    // `CapData` words version 3 fills; both live across the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            ptr::from_mut(&mut header),
            data.as_mut_ptr(),
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    let [lo, hi] = data;
    let join = |l: u32, h: u32| (u64::from(h) << 32) | u64::from(l);
    Ok((
        join(lo.effective, hi.effective),
        join(lo.permitted, hi.permitted),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_user_is_an_error_naming_it_and_changes_nothing() {
        let before = current_ids().unwrap();
        let e = drop_privileges("callguard-no-such-user").unwrap_err();
        assert!(matches!(e, PrivilegeError::UnknownUser { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("callguard-no-such-user") && msg.contains("no such user"),
            "{msg}"
        );
        // A number that is no uid in the database is unknown too (no bare uids without an entry).
        let e = drop_privileges("4294967000").unwrap_err();
        assert!(matches!(e, PrivilegeError::UnknownUser { .. }), "{e:?}");
        assert!(e.to_string().contains("4294967000"), "{e}");
        for bad in ["", "no\0body"] {
            let e = drop_privileges(bad).unwrap_err();
            assert!(matches!(e, PrivilegeError::InvalidName { .. }), "{e:?}");
        }
        assert_eq!(current_ids().unwrap(), before);
    }

    #[test]
    fn users_resolve_by_name_and_by_uid() {
        let root = lookup("root").unwrap().unwrap();
        assert_eq!((root.name.as_str(), root.uid, root.gid), ("root", 0, 0));
        assert_eq!(lookup("0").unwrap(), Some(root));
        assert_eq!(lookup("callguard-no-such-user").unwrap(), None);
        assert_eq!(lookup("").unwrap(), None);
        // Whoever runs the tests has an entry, found again by its name.
        let me = current_ids().unwrap().uid[1];
        let by_uid = lookup(&me.to_string()).unwrap().unwrap();
        assert_eq!(by_uid.uid, me);
        assert_eq!(lookup(&by_uid.name).unwrap().unwrap().uid, me);
    }

    #[test]
    fn the_current_user_is_a_no_op() {
        let before = current_ids().unwrap();
        // Only meaningful when the ids agree (not a set-user-ID run); they do under cargo test.
        assert!(before.uid.iter().all(|&u| u == before.uid[0]), "{before:?}");
        let me = lookup(&before.uid[0].to_string()).unwrap().unwrap();
        for user in [me.name.clone(), me.uid.to_string()] {
            let d = drop_privileges(&user).unwrap();
            assert!(!d.changed, "{d:?}");
            assert_eq!((d.uid, d.name.as_str()), (me.uid, me.name.as_str()));
            assert_eq!(
                d.to_string(),
                format!(
                    "running as {} (uid {}, gid {})",
                    me.name, me.uid, before.gid[1]
                )
            );
        }
        assert_eq!(current_ids().unwrap(), before);
    }

    #[test]
    fn only_a_process_with_all_three_uids_of_the_user_is_already_it() {
        let pw = Passwd {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
        };
        let ids = |uid: [u32; 3]| Ids { uid, gid: [0; 3] };
        assert!(is_current_user(&ids([65534; 3]), &pw));
        assert!(!is_current_user(&ids([0; 3]), &pw));
        // A set-user-ID run (saved or real uid root) must still switch: root could be taken back.
        assert!(!is_current_user(&ids([65534, 65534, 0]), &pw));
        assert!(!is_current_user(&ids([0, 65534, 65534]), &pw));
    }

    #[test]
    fn the_groups_of_a_user_include_its_primary_group() {
        let root = lookup("root").unwrap().unwrap();
        let groups = group_list(&root).unwrap();
        assert!(groups.contains(&0), "{groups:?}");
    }

    #[test]
    fn the_capability_sets_read_back() {
        // Root under cargo test has capabilities, anyone else normally none; either way the call works and
        // the effective set is within the permitted one.
        let (effective, permitted) = capabilities().unwrap();
        assert_eq!(effective & !permitted, 0);
        if current_ids().unwrap().uid[1] == 0 {
            assert_ne!(permitted, 0, "root with no capability");
        }
    }
}
