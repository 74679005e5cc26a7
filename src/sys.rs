//! The few facts about this machine that every layer needs: the clock and the host name.
//! They live at the bottom so no layer reaches upwards for them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 on a clock set before it).
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// This machine's host name, as leases and sidecars record it.
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// A path as a message shows it: control characters escaped (`\0`, `\n`, `\t`), so a name that
/// holds one shows what is really there instead of a blank or a broken line.
pub fn shown_path(path: &std::path::Path) -> String {
    shown(&path.to_string_lossy())
}

/// A text from the user as a message shows it: control characters escaped as in
/// [`shown_path`], everything else as written.
pub fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Why `path` is not a regular file that can be read, in words for a message; `None` when it
/// is one.
pub fn not_a_file(path: &std::path::Path) -> Option<&'static str> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => None,
        Ok(meta) if meta.is_dir() => Some("is a directory, not a file"),
        Ok(_) => Some("is not a regular file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist"),
        Err(_) if path.as_os_str().as_encoded_bytes().contains(&0) => {
            Some("cannot exist: its name holds a NUL character")
        }
        Err(_) => Some("cannot be read"),
    }
}
