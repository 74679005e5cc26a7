//! How a command ends: its exit code, and an error rendered once for people. Below both the
//! entry point and the commands, which all end this way.

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;
pub const EXIT_UNSATISFIABLE: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

/// `error: ...` on stderr, red when `color` (see `setup::stderr_color`).
pub(super) fn print_error(err: &anyhow::Error, color: bool) {
    let prefix = if color {
        "\x1b[31;1merror:\x1b[0m"
    } else {
        "error:"
    };
    eprintln!("{prefix} {}", render(err));
}

/// The error and its causes, each shown once: library errors already quote their cause.
pub fn render(err: &anyhow::Error) -> String {
    err.chain().fold(String::new(), |shown, cause| {
        let text = cause.to_string();
        if shown.is_empty() {
            text
        } else if shown.contains(&text) {
            shown
        } else {
            format!("{shown}: {text}")
        }
    })
}
